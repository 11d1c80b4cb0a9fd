using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>
/// The raw outlets of this node's live connections by connection key (<see cref="Sessions.ConnectionKeys.Of"/>):
/// the listener registers each connection's outlet before MQTTnet sees the CONNECT and removes it when the connection ends.
/// In-process or test servers without that listener have none, and their deliveries go through MQTTnet's session queue.
/// </summary>
internal sealed class RawPacketOutlets
{
    private readonly ConcurrentDictionary<string, IRawPacketOutlet> _outlets = new(StringComparer.Ordinal);

    public void Register(string connectionKey, IRawPacketOutlet outlet) => _outlets[connectionKey] = outlet;

    public void Unregister(string connectionKey, IRawPacketOutlet outlet) =>
        _outlets.TryRemove(new KeyValuePair<string, IRawPacketOutlet>(connectionKey, outlet));

    public IRawPacketOutlet? Find(string connectionKey) => _outlets.TryGetValue(connectionKey, out var outlet) ? outlet : null;

    public int Count => _outlets.Count;
}
