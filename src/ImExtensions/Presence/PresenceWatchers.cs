using MQTTnet;
using MqttIm.ImExtensions.Delivery;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// Who was granted <c>presence/{userId}</c>, with the way into their session. Presence is delivered only to these
/// watchers, straight into their sessions: it never goes through MQTTnet's topic matching, so a <c>#</c> or
/// <c>+/…</c> subscriber can never see anyone's presence.
/// </summary>
internal sealed class PresenceWatchers
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, IDeviceChannel>> _watchersByTarget = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _targetsByClient = new(StringComparer.Ordinal);

    public void Add(string clientId, string targetUserId, IDeviceChannel channel)
    {
        lock (_gate)
        {
            if (!_watchersByTarget.TryGetValue(targetUserId, out var watchers))
            {
                _watchersByTarget[targetUserId] = watchers = new Dictionary<string, IDeviceChannel>(StringComparer.Ordinal);
            }

            watchers[clientId] = channel;
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

    /// <summary>Queues the message to every watcher of the user; returns how many took it.</summary>
    public int Publish(string targetUserId, MqttApplicationMessage message)
    {
        IDeviceChannel[] channels;
        lock (_gate)
        {
            if (!_watchersByTarget.TryGetValue(targetUserId, out var watchers))
            {
                return 0;
            }

            channels = [.. watchers.Values];
        }

        var delivered = 0;
        foreach (var channel in channels)
        {
            delivered += channel.TryPublish(message) ? 1 : 0;
        }

        return delivered;
    }

    private void RemoveLocked(string clientId, string targetUserId)
    {
        if (_watchersByTarget.TryGetValue(targetUserId, out var watchers) && watchers.Remove(clientId) && watchers.Count == 0)
        {
            _watchersByTarget.Remove(targetUserId);
        }
    }
}
