using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>Configuration section <c>SharedSubscriptions</c>.</summary>
public sealed class SharedSubscriptionOptions
{
    public const string SectionName = "SharedSubscriptions";

    /// <summary>
    /// QoS 1/2 messages one group keeps while none of its members is online (persistent sessions that went away, or
    /// messages a departing member had not acknowledged); past it the oldest goes, counted in
    /// <c>mqttim_shared_dropped_total{reason="pending_full"}</c>. The first member to come back gets them.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxPendingPerGroup { get; set; } = 1000;
}
