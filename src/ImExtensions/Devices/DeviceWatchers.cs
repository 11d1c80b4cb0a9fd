using MqttIm.ImExtensions.Delivery;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Users granted a device's telemetry or state topics, with the way into their sessions. Device uplinks are forwarded
/// only to these watchers and never through MQTTnet's topic matching, so a <c>#</c> subscriber sees no device's data.
/// </summary>
internal sealed class DeviceWatchers
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<(string ClientId, string Filter), IDeviceChannel>> _byDevice = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<(string DeviceId, string Filter)>> _byClient = new(StringComparer.Ordinal);

    public void Add(string clientId, string deviceId, string filter, IDeviceChannel channel)
    {
        lock (_gate)
        {
            if (!_byDevice.TryGetValue(deviceId, out var watchers))
            {
                _byDevice[deviceId] = watchers = [];
            }

            watchers[(clientId, filter)] = channel;
            if (!_byClient.TryGetValue(clientId, out var watched))
            {
                _byClient[clientId] = watched = [];
            }

            watched.Add((deviceId, filter));
        }
    }

    public void Remove(string clientId, string deviceId, string filter)
    {
        lock (_gate)
        {
            RemoveLocked(clientId, deviceId, filter);
            if (_byClient.TryGetValue(clientId, out var watched) && watched.Remove((deviceId, filter)) && watched.Count == 0)
            {
                _byClient.Remove(clientId);
            }
        }
    }

    public void RemoveClient(string clientId)
    {
        lock (_gate)
        {
            if (_byClient.Remove(clientId, out var watched))
            {
                foreach (var (deviceId, filter) in watched)
                {
                    RemoveLocked(clientId, deviceId, filter);
                }
            }
        }
    }

    /// <summary>Whether anyone on this node watches any of the device's topics (so an event is worth encoding).</summary>
    public bool Watches(string deviceId)
    {
        lock (_gate)
        {
            return _byDevice.ContainsKey(deviceId);
        }
    }

    /// <summary>Queues the message to every watcher of the device whose filter matches its topic; returns how many.</summary>
    public int Forward(string deviceId, Downlink message)
    {
        List<IDeviceChannel>? targets = null;
        lock (_gate)
        {
            if (!_byDevice.TryGetValue(deviceId, out var watchers))
            {
                return 0;
            }

            foreach (var ((_, filter), channel) in watchers)
            {
                if (TopicFilter.Matches(message.Topic, filter))
                {
                    (targets ??= []).Add(channel);
                }
            }
        }

        if (targets is null)
        {
            return 0;
        }

        foreach (var channel in targets.Distinct())
        {
            channel.TryPublish(message);
        }

        return targets.Count;
    }

    private void RemoveLocked(string clientId, string deviceId, string filter)
    {
        if (_byDevice.TryGetValue(deviceId, out var watchers) && watchers.Remove((clientId, filter)) && watchers.Count == 0)
        {
            _byDevice.Remove(deviceId);
        }
    }
}
