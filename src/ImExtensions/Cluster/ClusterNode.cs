namespace MqttIm.ImExtensions.Cluster;

/// <summary>This process's identity in the cluster (also on a single node, where it only names the process).</summary>
public sealed class ClusterNode(ClusterOptions options)
{
    public string NodeId { get; } = string.IsNullOrWhiteSpace(options.NodeId) ? "node-" + Guid.NewGuid().ToString("N")[..8] : options.NodeId;

    public bool IsClustered { get; } = options.Enabled;
}
