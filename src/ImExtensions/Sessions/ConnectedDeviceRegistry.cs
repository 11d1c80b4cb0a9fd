using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>Client id → live connection. Kept by the broker because MQTTnet's session items do not survive a resumed session.</summary>
internal sealed class ConnectedDeviceRegistry
{
    private readonly ConcurrentDictionary<string, ConnectedDevice> _devices = new(StringComparer.Ordinal);

    // User id → that user's devices, as a small array replaced on every change (copy-on-write): a user has a handful of
    // devices, and one array costs an idle connection ~32 B where a dictionary per user cost ~220 B. Also the lock for
    // every change, so both maps always agree.
    private readonly Dictionary<string, ConnectedDevice[]> _byUser = new(StringComparer.Ordinal);

    public int Count => _devices.Count;

    public void Add(ConnectedDevice device)
    {
        lock (_byUser)
        {
            if (_devices.TryGetValue(device.ClientId, out var previous))
            {
                RemoveFromUser(previous);
            }

            _devices[device.ClientId] = device;
            _byUser[device.UserId] = _byUser.TryGetValue(device.UserId, out var devices) ? [.. devices, device] : [device];
        }
    }

    /// <summary>The user's connected devices now (a snapshot: the array is never changed once published).</summary>
    public IReadOnlyList<ConnectedDevice> DevicesOf(string userId)
    {
        lock (_byUser)
        {
            return _byUser.TryGetValue(userId, out var devices) ? devices : [];
        }
    }

    /// <summary>The users with at least one device connected now (a snapshot; cluster presence re-announces them after Redis comes back).</summary>
    public IReadOnlyList<string> Users()
    {
        lock (_byUser)
        {
            return [.. _byUser.Keys];
        }
    }

    public ConnectedDevice? Find(string clientId) => _devices.TryGetValue(clientId, out var device) ? device : null;

    /// <summary>
    /// Whether <paramref name="device"/> is still its client id's registered connection: work decided for one connection
    /// (a kick, a late check) must not land on a newer connection of the same client id, or on one already gone.
    /// </summary>
    public bool IsCurrent(ConnectedDevice device) => Find(device.ClientId) is { } current && current.ConnectionKey == device.ConnectionKey;

    /// <summary>Removes the entry only if it still belongs to that connection (a takeover may have replaced it already).</summary>
    public bool Remove(string clientId, string connectionKey)
    {
        lock (_byUser)
        {
            if (!_devices.TryGetValue(clientId, out var device) || device.ConnectionKey != connectionKey)
            {
                return false;
            }

            _devices.TryRemove(clientId, out _);
            RemoveFromUser(device);
            return true;
        }
    }

    private void RemoveFromUser(ConnectedDevice device)
    {
        if (!_byUser.TryGetValue(device.UserId, out var devices))
        {
            return;
        }

        var remaining = Array.FindAll(devices, d => !string.Equals(d.ClientId, device.ClientId, StringComparison.Ordinal));
        if (remaining.Length == 0)
        {
            _byUser.Remove(device.UserId);
        }
        else if (remaining.Length != devices.Length)
        {
            _byUser[device.UserId] = remaining;
        }
    }
}
