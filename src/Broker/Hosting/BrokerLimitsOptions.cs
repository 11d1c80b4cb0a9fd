using System.ComponentModel.DataAnnotations;

namespace MqttIm.Broker.Hosting;

/// <summary>Configuration section <c>Limits</c>: protection against oversized or piling-up traffic.</summary>
public sealed class BrokerLimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>Largest MQTT packet accepted; checked on the fixed header, before MQTTnet buffers the packet.</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxPacketBytes { get; set; } = 1024 * 1024;

    /// <summary>Queued outgoing messages per client before the oldest are dropped (IM devices recover them by sync).</summary>
    [Range(1, 1_000_000)]
    public int MaxPendingMessagesPerClient { get; set; } = 1000;

    /// <summary>Largest CONNECT accepted: an unauthenticated peer gets a much smaller buffer than a logged-in client.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxConnectPacketBytes { get; set; } = 16 * 1024;

    /// <summary>How long a new connection may take to deliver its whole CONNECT before it is dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Connections that have not yet received their CONNACK; more are refused at once (TCP close).</summary>
    [Range(1, 1_000_000)]
    public int MaxPendingConnections { get; set; } = 1000;

    /// <summary>
    /// Longest keep-alive a client may ask for; 0 = no cap. A CONNECT with keep-alive 0 or above it gets this value,
    /// announced to MQTT 5 clients as Server Keep Alive.
    /// </summary>
    [Range(0, 65535)]
    public int MaxKeepAliveSeconds { get; set; }

    /// <summary>Topic Alias Maximum announced in the MQTT 5 CONNACK; 0 = topic aliases not accepted.</summary>
    [Range(0, 65535)]
    public int TopicAliasMaximum { get; set; } = 16;

    /// <summary>Total bytes of the topics a client may hold behind its topic aliases at once.</summary>
    [Range(0, 16 * 1024 * 1024)]
    public int MaxTopicAliasBytes { get; set; } = 16 * 1024;
}
