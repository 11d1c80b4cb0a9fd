using Prometheus;

namespace MqttIm.ImExtensions.Diagnostics;

/// <summary>Prometheus metrics of the IM layer (exported at <c>/metrics</c>), all prefixed <c>mqttim_</c>.</summary>
internal static class ImMetrics
{
    public static readonly Counter MessagesAccepted = Metrics.CreateCounter(
        "mqttim_messages_accepted_total", "Chat messages stored and acknowledged.");

    public static readonly Counter MessagesDuplicate = Metrics.CreateCounter(
        "mqttim_messages_duplicate_total", "Resends answered from an earlier send without storing anything.");

    public static readonly Counter MessagesRejected = Metrics.CreateCounter(
        "mqttim_messages_rejected_total", "Uplink messages refused, by reason.", "reason");

    public static readonly Counter InboxDeliveries = Metrics.CreateCounter(
        "mqttim_inbox_deliveries_total", "Events queued to online devices' inboxes.");

    public static readonly Histogram CommitSeconds = Metrics.CreateHistogram(
        "mqttim_store_commit_seconds", "Duration of one group commit to the message store.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

    public static readonly Histogram CommitBatchSize = Metrics.CreateHistogram(
        "mqttim_store_commit_batch_size", "Messages per group commit.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 13) });

    public static readonly Counter QueueOverflowDrops = Metrics.CreateCounter(
        "mqttim_queue_overflow_drops_total", "Queued downlink messages dropped because a slow client's queue was full (IM devices recover them by sync).");

    public static readonly Gauge ConnectedDevices = Metrics.CreateGauge(
        "mqttim_connected_clients", "Authenticated MQTT connections.");

    public static readonly Counter AclDenials = Metrics.CreateCounter(
        "mqttim_acl_denials_total", "Publishes and subscribes refused by the ACL.", "action");
}
