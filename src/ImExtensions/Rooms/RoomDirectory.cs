using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// The viewer index of this node: room → live room with its viewers, client → rooms it watches. Room delivery reads it
/// instead of MQTTnet's subscriptions, so a publish never walks every subscribed session.
/// </summary>
internal sealed class RoomDirectory(IOptions<RoomOptions> options)
{
    private readonly ConcurrentDictionary<string, LiveRoom> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _roomsByClient = new(StringComparer.Ordinal);
    private readonly int _names = options.Value.JoinEventsPerFrame;
    private int _viewers;

    /// <summary>Raised when a room gains its first or loses its last local viewer (the cluster bus (un)subscribes).</summary>
    public event Action<string>? RoomActivityChanged;

    public ICollection<LiveRoom> Rooms => _rooms.Values;

    /// <summary>Viewers on this node over all rooms.</summary>
    public int ViewerCount => Volatile.Read(ref _viewers);

    public LiveRoom? Find(string roomId) => _rooms.TryGetValue(roomId, out var room) ? room : null;

    public LiveRoom Join(string roomId, RoomViewer viewer)
    {
        for (var attempt = 0; ; attempt++)
        {
            var room = _rooms.GetOrAdd(roomId, id => new LiveRoom(id));
            var wasEmpty = room.Count == 0;
            if (room.Add(viewer, _names))
            {
                _roomsByClient.GetOrAdd(viewer.ClientId, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal))[roomId] = 0;
                RoomMetrics.Viewers.Set(Interlocked.Increment(ref _viewers));
                if (wasEmpty)
                {
                    RoomActivityChanged?.Invoke(roomId);
                }

                return room;
            }

            // Retired between lookup and add: drop it and take a fresh one.
            _rooms.TryRemove(new KeyValuePair<string, LiveRoom>(roomId, room));
            if (attempt > 100)
            {
                throw new InvalidOperationException("room directory kept retiring room " + roomId);
            }
        }
    }

    /// <summary>Removes the client from the room (if it is still that connection); returns the viewer removed.</summary>
    public RoomViewer? Leave(string roomId, string clientId, string? connectionKey)
    {
        if (Find(roomId)?.Remove(clientId, connectionKey, _names) is not { } viewer)
        {
            return null;
        }

        if (_roomsByClient.TryGetValue(clientId, out var rooms))
        {
            rooms.TryRemove(roomId, out _);
        }

        Left(roomId, 1);
        return viewer;
    }

    /// <summary>A disconnect: the connection leaves every room it watched.</summary>
    public void LeaveAll(string clientId, string connectionKey)
    {
        if (!_roomsByClient.TryGetValue(clientId, out var rooms))
        {
            return;
        }

        foreach (var roomId in rooms.Keys)
        {
            Leave(roomId, clientId, connectionKey);
        }

        if (rooms.IsEmpty)
        {
            _roomsByClient.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, byte>>(clientId, rooms));
        }
    }

    /// <summary>A ban: every local connection of the user leaves the room.</summary>
    public int RemoveUser(string roomId, string userId)
    {
        if (Find(roomId) is not { } room)
        {
            return 0;
        }

        var removed = room.RemoveUser(userId, _names);
        foreach (var viewer in removed)
        {
            if (_roomsByClient.TryGetValue(viewer.ClientId, out var rooms))
            {
                rooms.TryRemove(roomId, out _);
            }
        }

        Left(roomId, removed.Count);
        return removed.Count;
    }

    /// <summary>Hands an envelope to the room's next frame; dropped when nobody on this node watches the room.</summary>
    public void Deliver(RoomEnvelope envelope)
    {
        if (_rooms.TryGetValue(envelope.RoomId, out var room))
        {
            room.Incoming.Enqueue(envelope);
        }
    }

    /// <summary>Forgets a room whose last viewer left (called by the frame pump once its pending envelopes are done).</summary>
    public void RetireIfEmpty(LiveRoom room)
    {
        if (room.Count == 0 && room.TryRetire())
        {
            _rooms.TryRemove(new KeyValuePair<string, LiveRoom>(room.RoomId, room));
            RoomActivityChanged?.Invoke(room.RoomId);
        }
    }

    private void Left(string roomId, int count)
    {
        if (count > 0)
        {
            RoomMetrics.Viewers.Set(Interlocked.Add(ref _viewers, -count));
        }
    }
}
