using System.Text.Json;
using System.Text.Json.Serialization;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>What a node tells the cluster about itself on every heartbeat (and what the entry endpoint hands clients).</summary>
public sealed record NodeInfo(
    [property: JsonPropertyName("nodeId")] string NodeId,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("mqttPort")] int MqttPort,
    [property: JsonPropertyName("wsUrl")] string WsUrl,
    [property: JsonPropertyName("connections")] int Connections,
    [property: JsonPropertyName("cpu")] double Cpu,
    [property: JsonPropertyName("heartbeatMs")] long HeartbeatMs)
{
    public string Serialise() => JsonSerializer.Serialize(this);

    public static NodeInfo? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<NodeInfo>(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Where clients reach this node; known once the listeners are bound.</summary>
public sealed record NodeAddress(string Host, int MqttPort, string WsUrl);
