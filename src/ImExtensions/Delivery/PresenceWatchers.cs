using MQTTnet;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>
/// Who was granted <c>presence/{userId}</c>, with the way into their session. Presence is delivered only to these
/// watchers, straight into their sessions: it never goes through MQTTnet's topic matching, so a <c>#</c> or
/// <c>+/…</c> subscriber can never see anyone's presence. Only the user's own devices see the device ids; other
/// watchers get online/offline and the time of the change.
/// </summary>
internal sealed class PresenceWatchers
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, Watcher>> _watchersByTarget = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _targetsByClient = new(StringComparer.Ordinal);

    /// <param name="isTargetsOwnDevice">The watcher is the target user (their own other device): sees the device ids.</param>
    public void Add(string clientId, string targetUserId, IDeviceChannel channel, bool isTargetsOwnDevice)
    {
        lock (_gate)
        {
            if (!_watchersByTarget.TryGetValue(targetUserId, out var watchers))
            {
                _watchersByTarget[targetUserId] = watchers = new Dictionary<string, Watcher>(StringComparer.Ordinal);
            }

            watchers[clientId] = new Watcher(channel, isTargetsOwnDevice);
            if (!_targetsByClient.TryGetValue(clientId, out var targets))
            {
                _targetsByClient[clientId] = targets = new HashSet<string>(StringComparer.Ordinal);
            }

            targets.Add(targetUserId);
        }
    }

    public void Remove(string clientId, string targetUserId)
    {
        lock (_gate)
        {
            RemoveLocked(clientId, targetUserId);
            if (_targetsByClient.TryGetValue(clientId, out var targets) && targets.Remove(targetUserId) && targets.Count == 0)
            {
                _targetsByClient.Remove(clientId);
            }
        }
    }

    /// <summary>Forgets every watch of a client whose session ended.</summary>
    public void RemoveClient(string clientId)
    {
        lock (_gate)
        {
            if (_targetsByClient.Remove(clientId, out var targets))
            {
                foreach (var target in targets)
                {
                    RemoveLocked(clientId, target);
                }
            }
        }
    }

    /// <summary>
    /// Queues the state to every watcher of the user: in full to the user's own devices, without device ids to others,
    /// and to others only when <paramref name="onlineChanged"/> (a device more or less is not their business). Returns how many took it.
    /// </summary>
    public int Publish(PresenceState state, bool onlineChanged)
    {
        Watcher[] watchers;
        lock (_gate)
        {
            if (!_watchersByTarget.TryGetValue(state.UserId, out var byClient))
            {
                return 0;
            }

            watchers = [.. byClient.Values];
        }

        MqttApplicationMessage? full = null;
        MqttApplicationMessage? forOthers = null;
        var delivered = 0;
        foreach (var watcher in watchers)
        {
            if (watcher.IsTargetsOwnDevice)
            {
                delivered += watcher.Channel.TryPublish(full ??= PresenceMessages.For(state)) ? 1 : 0;
            }
            else if (onlineChanged)
            {
                delivered += watcher.Channel.TryPublish(forOthers ??= PresenceMessages.For(PresenceMessages.WithoutDevices(state))) ? 1 : 0;
            }
        }

        return delivered;
    }

    private sealed record Watcher(IDeviceChannel Channel, bool IsTargetsOwnDevice);

    private void RemoveLocked(string clientId, string targetUserId)
    {
        if (_watchersByTarget.TryGetValue(targetUserId, out var watchers) && watchers.Remove(clientId) && watchers.Count == 0)
        {
            _watchersByTarget.Remove(targetUserId);
        }
    }
}
