namespace MqttIm.ImExtensions.Cluster;

/// <summary>Configuration section <c>Cluster</c>. Without <see cref="Redis"/> the broker runs as a single node.</summary>
public sealed class ClusterOptions
{
    public const string SectionName = "Cluster";

    /// <summary>A StackExchange.Redis configuration string (<c>host:port,password=…</c>); empty = single node, no Redis.</summary>
    public string Redis { get; set; } = "";

    /// <summary>This node's id, unique in the cluster; empty = generated at start-up.</summary>
    public string NodeId { get; set; } = "";

    /// <summary>Prefix of every Redis key and channel this cluster uses, so several clusters can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "mqttim:";

    public bool Enabled => !string.IsNullOrWhiteSpace(Redis);
}
