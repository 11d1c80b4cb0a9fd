using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// The last announced presence of every user seen since start: the devices online and when that last changed
/// (the last-seen time once offline). Answers the HTTP query and decides whether a change is worth publishing.
/// </summary>
internal sealed class PresenceTracker
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _users = new(StringComparer.Ordinal);

    /// <summary>Records the devices online now; returns the new state when it differs from the last one, otherwise null.</summary>
    public PresenceState? Apply(string userId, IEnumerable<string> devicesOnline, long nowMs)
    {
        var devices = devicesOnline.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        lock (_gate)
        {
            var known = _users.TryGetValue(userId, out var entry);
            if (known ? entry!.Devices.AsSpan().SequenceEqual(devices) : devices.Length == 0)
            {
                return null;
            }

            entry = new Entry(devices, nowMs);
            _users[userId] = entry;
            return ToState(userId, entry);
        }
    }

    /// <summary>The user's presence; offline with changed_ms 0 for a user not seen since start.</summary>
    public PresenceState Get(string userId)
    {
        lock (_gate)
        {
            return _users.TryGetValue(userId, out var entry) ? ToState(userId, entry) : new PresenceState { UserId = userId };
        }
    }

    private static PresenceState ToState(string userId, Entry entry)
    {
        var state = new PresenceState { UserId = userId, Online = entry.Devices.Length > 0, ChangedMs = entry.ChangedMs };
        state.Devices.AddRange(entry.Devices);
        return state;
    }

    private sealed record Entry(string[] Devices, long ChangedMs);
}
