using Prometheus;

namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>Prometheus metrics of shared subscriptions.</summary>
internal static class SharedSubscriptionMetrics
{
    public static readonly Counter Deliveries = Metrics.CreateCounter(
        "mqttim_shared_deliveries_total", "Messages handed to one member of a shared subscription group; redistributed = sent again to another member after the first left without acknowledging.", "kind");

    public static readonly Counter Dropped = Metrics.CreateCounter(
        "mqttim_shared_dropped_total", "QoS 1/2 messages of a shared group that no member will get: pending_full = the group's queue for absent members was full (oldest dropped), group_gone = its last member left.", "reason");

    public static readonly Gauge Groups = Metrics.CreateGauge(
        "mqttim_shared_groups", "Shared subscription groups ($share/{ShareName}/{filter}) with at least one member on this node.");
}
