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

    /// <summary>Host name or address clients are told to connect to (entry endpoint); empty = the listen address, or the machine name when listening on all addresses.</summary>
    public string AdvertiseHost { get; set; } = "";

    /// <summary>MQTT port clients are told; 0 = the bound MQTT port.</summary>
    public int AdvertiseMqttPort { get; set; }

    /// <summary>MQTT-over-WebSocket URL clients are told; empty = <c>ws://{host}:{httpPort}{path}</c>.</summary>
    public string AdvertiseWsUrl { get; set; } = "";

    /// <summary>How often a node writes its heartbeat and refreshes its devices' directory entries.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A node silent this long is dead: it is removed and its devices' entries are dropped (they also expire on their own).</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A seq missing below a conversation's stored max for this long is reported as skipped by sync (its node died before storing it).</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan SeqGapGrace { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => !string.IsNullOrWhiteSpace(Redis);
}
