using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Memory;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// The last announced presence of users: the devices online and when that last changed (the last-seen time once
/// offline). Answers the HTTP query and decides whether a change is worth publishing. Online users are always held
/// (they are bounded by connections); last-seen entries of offline users are bounded (<c>Memory:OfflinePresenceEntries</c>),
/// and a dropped one reads as "offline, last seen unknown".
/// </summary>
internal sealed class PresenceTracker
{
    public const int DefaultOfflineCapacity = 100_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _online = new(StringComparer.Ordinal);
    private readonly BoundedLruCache<string, Entry> _offline;

    public PresenceTracker(int offlineCapacity = DefaultOfflineCapacity)
    {
        _offline = new BoundedLruCache<string, Entry>("presence_offline", offlineCapacity, StringComparer.Ordinal);
    }

    public int OnlineCount
    {
        get
        {
            lock (_gate)
            {
                return _online.Count;
            }
        }
    }

    public int OfflineCount => _offline.Count;

    /// <summary>Records the devices online now; returns the new state when it differs from the last one, otherwise null.</summary>
    public PresenceState? Apply(string userId, IEnumerable<string> devicesOnline, long nowMs)
    {
        var devices = devicesOnline.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        lock (_gate)
        {
            var wasOnline = _online.TryGetValue(userId, out var entry);
            if (wasOnline ? entry!.Devices.AsSpan().SequenceEqual(devices) : devices.Length == 0)
            {
                return null;
            }

            entry = new Entry(devices, nowMs);
            if (devices.Length > 0)
            {
                _online[userId] = entry;
                _offline.Remove(userId);
            }
            else
            {
                _online.Remove(userId);
                _offline.Set(userId, entry);
            }

            return ToState(userId, entry);
        }
    }

    /// <summary>The user's presence; offline with changed_ms 0 for a user not seen since start (or whose last-seen was dropped).</summary>
    public PresenceState Get(string userId)
    {
        lock (_gate)
        {
            if (_online.TryGetValue(userId, out var online))
            {
                return ToState(userId, online);
            }
        }

        return _offline.TryGetValue(userId, out var offline) ? ToState(userId, offline) : new PresenceState { UserId = userId };
    }

    private static PresenceState ToState(string userId, Entry entry)
    {
        var state = new PresenceState { UserId = userId, Online = entry.Devices.Length > 0, ChangedMs = entry.ChangedMs };
        state.Devices.AddRange(entry.Devices);
        return state;
    }

    private sealed record Entry(string[] Devices, long ChangedMs);
}
