using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>Where one inbox device is connected: which node, which connection of its client id, and its wire format.</summary>
/// <remarks>Serialised as <c>node|connection|format</c>, so a Lua script can match "this node's this connection" by prefix.</remarks>
internal sealed record DeviceDirectoryEntry(string NodeId, string ConnectionKey, WireFormat Format)
{
    public string Serialise() => OwnerPrefix(NodeId, ConnectionKey) + (Format == WireFormat.Protobuf ? "pb" : "json");

    /// <summary>The part of the serialised entry that names its owner (node and connection).</summary>
    public static string OwnerPrefix(string nodeId, string connectionKey) => nodeId + "|" + connectionKey + "|";

    public static DeviceDirectoryEntry? Parse(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var first = value.IndexOf('|');
        var last = value.LastIndexOf('|');
        if (first <= 0 || last <= first)
        {
            return null;
        }

        return new DeviceDirectoryEntry(value[..first], value[(first + 1)..last], value[(last + 1)..] == "pb" ? WireFormat.Protobuf : WireFormat.Json);
    }
}
