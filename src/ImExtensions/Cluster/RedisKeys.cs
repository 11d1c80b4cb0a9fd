namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Every Redis key and pub/sub channel name the cluster uses, built in this one place (prefix from
/// <see cref="ClusterOptions.KeyPrefix"/>) so names never drift between writers and readers.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;
}
