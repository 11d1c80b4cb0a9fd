using System.Collections.Concurrent;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// A room as this node sees it: its local viewers (copy-on-write array for the pump) and the envelopes waiting for the
/// next frame, in arrival order (which is room-seq order for gifts: the bus hands them over in seq order).
/// </summary>
internal sealed class LiveRoom(string roomId)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RoomViewer> _viewers = new(StringComparer.Ordinal);
    private readonly List<string> _joined = [];
    private readonly List<string> _left = [];
    // Rebuilt on the pump's next read after a change (null = stale): a copy per join would make 10,000 joins O(n²).
    private RoomViewer[]? _snapshot = [];
    private int _count;
    private int _joinedCount;
    private int _leftCount;

    public string RoomId { get; } = roomId;

    public string Topic { get; } = RoomTopic.For(roomId);

    public ConcurrentQueue<RoomEnvelope> Incoming { get; } = new();

    public RoomViewer[] Viewers
    {
        get
        {
            if (Volatile.Read(ref _snapshot) is { } snapshot)
            {
                return snapshot;
            }

            lock (_gate)
            {
                return _snapshot ??= [.. _viewers.Values];
            }
        }
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Chat allowance carried between windows (the pump's only).</summary>
    public double ChatCredit { get; set; }

    /// <summary>When the pump last built this room's window (0 = never): a late tick earns the chat allowance of the time it covers.</summary>
    public long LastWindowAt { get; set; }

    public long LastSeq { get; set; }

    /// <summary>Pump ticks since this room's last window (the pump's only): a stretched window spans several ticks.</summary>
    public int TicksSinceWindow { get; set; }

    public long LikesTotal { get; set; }

    /// <summary>Viewers across the cluster, as last counted.</summary>
    public long TotalViewers { get; set; }

    public long LastCountFrameAt { get; set; }

    public long LastSentViewers { get; set; } = -1;

    /// <summary>Adds (or replaces, for a new connection of the same client id) a viewer; false if the room was retired meanwhile.</summary>
    public bool Add(RoomViewer viewer, int namesPerFrame)
    {
        lock (_gate)
        {
            if (Retired)
            {
                return false;
            }

            var isNew = !_viewers.ContainsKey(viewer.ClientId);
            _viewers[viewer.ClientId] = viewer;
            _snapshot = null;
            _count = _viewers.Count;
            if (isNew)
            {
                Note(_joined, ref _joinedCount, viewer.UserId, namesPerFrame);
            }

            return true;
        }
    }

    /// <summary>Removes the viewer if it is still this connection (<paramref name="connectionKey"/> null = any); returns it.</summary>
    public RoomViewer? Remove(string clientId, string? connectionKey, int namesPerFrame)
    {
        lock (_gate)
        {
            if (!_viewers.TryGetValue(clientId, out var viewer) || (connectionKey is not null && viewer.ConnectionKey != connectionKey))
            {
                return null;
            }

            _viewers.Remove(clientId);
            _snapshot = null;
            _count = _viewers.Count;
            Note(_left, ref _leftCount, viewer.UserId, namesPerFrame);
            return viewer;
        }
    }

    public IReadOnlyList<RoomViewer> RemoveUser(string userId, int namesPerFrame)
    {
        var removed = new List<RoomViewer>();
        foreach (var viewer in Viewers)
        {
            if (viewer.UserId == userId && Remove(viewer.ClientId, null, namesPerFrame) is { } gone)
            {
                removed.Add(gone);
            }
        }

        return removed;
    }

    /// <summary>Set under the directory's lock when the last viewer left; a retired room takes no viewers.</summary>
    public bool Retired { get; private set; }

    public bool TryRetire()
    {
        lock (_gate)
        {
            if (_viewers.Count > 0)
            {
                return false;
            }

            Retired = true;
            return true;
        }
    }

    /// <summary>Moves the pending join/leave news into the frame.</summary>
    public bool TakeJoinsAndLeaves(RoomFrame frame)
    {
        lock (_gate)
        {
            if (_joinedCount == 0 && _leftCount == 0)
            {
                return false;
            }

            frame.Joined.AddRange(_joined);
            frame.JoinedCount = _joinedCount;
            frame.Left.AddRange(_left);
            frame.LeftCount = _leftCount;
            _joined.Clear();
            _left.Clear();
            _joinedCount = 0;
            _leftCount = 0;
            return true;
        }
    }

    private static void Note(List<string> names, ref int count, string userId, int namesPerFrame)
    {
        count++;
        if (names.Count < namesPerFrame)
        {
            names.Add(userId);
        }
    }
}
