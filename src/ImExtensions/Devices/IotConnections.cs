using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Which client ids authenticated as IoT devices (set while validating the CONNECT, read when the connection registers).</summary>
internal sealed class IotConnections
{
    private readonly ConcurrentDictionary<string, string> _deviceByClient = new(StringComparer.Ordinal);

    public void MarkDevice(string clientId, string deviceId) => _deviceByClient[clientId] = deviceId;

    public void MarkUser(string clientId) => _deviceByClient.TryRemove(clientId, out _);

    public bool IsDevice(string clientId) => _deviceByClient.ContainsKey(clientId);
}
