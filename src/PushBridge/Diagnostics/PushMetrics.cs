using Prometheus;

namespace MqttIm.PushBridge.Diagnostics;

/// <summary>The push bridge's Prometheus series on <c>/metrics</c>.</summary>
internal static class PushMetrics
{
    public static readonly Counter Outcomes = Metrics.CreateCounter(
        "mqttim_push_outcomes_total", "Push outcomes per vendor and result (delivered, token_removed, failed, cancelled_online, no_token, no_channel).",
        new CounterConfiguration { LabelNames = ["vendor", "result"] });

    public static readonly Counter Retries = Metrics.CreateCounter(
        "mqttim_push_retries_total", "Vendor requests repeated after a 429/5xx answer.", new CounterConfiguration { LabelNames = ["vendor"] });

    public static readonly Counter Merged = Metrics.CreateCounter("mqttim_push_merged_messages_total", "Messages merged into a user's already pending push.");

    public static readonly Counter Deferred = Metrics.CreateCounter(
        "mqttim_push_deferred_total", "Pushes postponed, by reason (quiet_hours, rate_limit).", new CounterConfiguration { LabelNames = ["reason"] });

    public static readonly Counter Dropped = Metrics.CreateCounter(
        "mqttim_push_intake_dropped_total", "Offline-recipient reports dropped because the intake queue was full (the messages stay stored).");

    public static readonly Gauge PendingJobs = Metrics.CreateGauge("mqttim_push_pending_jobs", "Push jobs waiting for their due time.");

    public static readonly Histogram VendorSeconds = Metrics.CreateHistogram(
        "mqttim_push_vendor_request_seconds", "Time of one vendor send (all its tokens, retries included).",
        new HistogramConfiguration { LabelNames = ["vendor"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
}
