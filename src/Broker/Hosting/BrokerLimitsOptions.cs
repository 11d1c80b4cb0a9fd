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
}
