using Prometheus;

namespace MqttIm.ImExtensions.Memory;

/// <summary>Size and evictions of every bounded in-memory structure, labelled by its name.</summary>
internal static class CacheMetrics
{
    public static readonly Gauge Entries = Metrics.CreateGauge(
        "mqttim_cache_entries", "Entries held by a bounded in-memory structure.", "cache");

    public static readonly Counter Evictions = Metrics.CreateCounter(
        "mqttim_cache_evictions_total", "Entries dropped from a bounded in-memory structure because it was full (they are reloaded from the store when needed).", "cache");
}
