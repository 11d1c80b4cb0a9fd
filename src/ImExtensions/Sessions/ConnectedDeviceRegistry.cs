using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>Client id → live connection. Kept by the broker because MQTTnet's session items do not survive a resumed session.</summary>
internal sealed class ConnectedDeviceRegistry
{
    private readonly ConcurrentDictionary<string, ConnectedDevice> _devices = new(StringComparer.Ordinal);

    public int Count => _devices.Count;

    public void Add(ConnectedDevice device) => _devices[device.ClientId] = device;

    public ConnectedDevice? Find(string clientId) => _devices.TryGetValue(clientId, out var device) ? device : null;

    /// <summary>Removes the entry only if it still belongs to that connection (a takeover may have replaced it already).</summary>
    public bool Remove(string clientId, string connectionKey) =>
        _devices.TryGetValue(clientId, out var device)
        && device.ConnectionKey == connectionKey
        && _devices.TryRemove(new KeyValuePair<string, ConnectedDevice>(clientId, device));
}
