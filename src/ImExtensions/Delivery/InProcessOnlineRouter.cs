using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>Single-node router: a dictionary from user to devices, delivering straight into MQTTnet sessions.</summary>
/// <remarks>Copy-on-write device arrays keep the per-message path lock-free; registrations are rare next to messages.</remarks>
internal sealed class InProcessOnlineRouter : IOnlineRouter
{
    private readonly ConcurrentDictionary<string, OnlineDevice[]> _devicesByUser = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OnlineDevice> _devicesByClient = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();

    public ValueTask RegisterAsync(OnlineDevice device, CancellationToken cancellationToken)
    {
        lock (_writeLock)
        {
            if (_devicesByClient.TryGetValue(device.ClientId, out var previous))
            {
                RemoveFromUser(previous);
            }

            _devicesByClient[device.ClientId] = device;
            var current = _devicesByUser.TryGetValue(device.UserId, out var list) ? list : [];
            _devicesByUser[device.UserId] = [.. current, device];
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask UnregisterAsync(string clientId, string connectionKey, CancellationToken cancellationToken)
    {
        lock (_writeLock)
        {
            if (_devicesByClient.TryGetValue(clientId, out var device) && device.ConnectionKey == connectionKey)
            {
                _devicesByClient.TryRemove(clientId, out _);
                RemoveFromUser(device);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<int> RouteAsync(string userId, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken)
    {
        if (!_devicesByUser.TryGetValue(userId, out var devices))
        {
            return ValueTask.FromResult(0);
        }

        var delivered = 0;
        foreach (var device in devices)
        {
            if (device.ClientId != exceptClientId && device.Channel.TryPublish(outbound.ToMqttMessage(device.InboxTopic, device.Format)))
            {
                delivered++;
            }
        }

        return ValueTask.FromResult(delivered);
    }

    public ValueTask<bool> RouteToDeviceAsync(string userId, string clientId, OutboundEvent outbound, CancellationToken cancellationToken)
    {
        var ok = _devicesByClient.TryGetValue(clientId, out var device)
            && device.UserId == userId
            && device.Channel.TryPublish(outbound.ToMqttMessage(device.InboxTopic, device.Format));
        return ValueTask.FromResult(ok);
    }

    public async ValueTask<int> RouteManyAsync(IReadOnlyList<string> userIds, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken)
    {
        var delivered = 0;
        foreach (var userId in userIds)
        {
            delivered += await RouteAsync(userId, outbound, exceptClientId, cancellationToken).ConfigureAwait(false);
        }

        return delivered;
    }

    /// <summary>The device currently registered under the client id, if any.</summary>
    public OnlineDevice? Find(string clientId) => _devicesByClient.TryGetValue(clientId, out var device) ? device : null;

    public bool HasUser(string userId) => _devicesByUser.ContainsKey(userId);

    /// <summary>Every registered device (a snapshot).</summary>
    public IReadOnlyList<OnlineDevice> All() => [.. _devicesByClient.Values];

    public ValueTask<IReadOnlyList<OnlineDevice>> GetDevicesAsync(string userId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<OnlineDevice>>(_devicesByUser.TryGetValue(userId, out var devices) ? devices : []);

    private void RemoveFromUser(OnlineDevice device)
    {
        if (!_devicesByUser.TryGetValue(device.UserId, out var list))
        {
            return;
        }

        var remaining = Array.FindAll(list, d => !ReferenceEquals(d, device));
        if (remaining.Length == 0)
        {
            _devicesByUser.TryRemove(device.UserId, out _);
        }
        else
        {
            _devicesByUser[device.UserId] = remaining;
        }
    }
}
