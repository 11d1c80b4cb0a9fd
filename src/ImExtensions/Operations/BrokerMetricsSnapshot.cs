using System.Diagnostics;
using MqttIm.ImExtensions.Diagnostics;

namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// The broker's counters at one instant, read from the same prometheus-net metrics that <c>/metrics</c> exports, as
/// JSON for the console: the page polls it and charts the differences, so it never parses Prometheus text.
/// Counters are totals since start; rates are the client's job (two snapshots, their <see cref="TimeMs"/> apart).
/// </summary>
public sealed record BrokerMetricsSnapshot(
    string NodeId,
    long TimeMs,
    double UptimeSeconds,
    long ConnectedClients,
    long Subscriptions,
    double MessagesAccepted,
    double MessagesDuplicate,
    IReadOnlyDictionary<string, double> MessagesRejected,
    double InboxDeliveries,
    double StoreCommits,
    double StoreCommitSecondsSum,
    double StoreCommitMessagesSum,
    double QueueOverflowDrops,
    IReadOnlyDictionary<string, double> AclDenials,
    double SessionsExpired,
    double TokenExpiryDisconnects,
    IReadOnlyDictionary<string, double> CacheEntries,
    IReadOnlyDictionary<string, double> CacheEvictions,
    long ProcessResidentBytes,
    long ManagedHeapBytes,
    IReadOnlyDictionary<string, double> DeviceCommands,
    double TelemetryPoints,
    long DevicesConnected,
    long RoomViewers,
    double RoomFrames,
    IReadOnlyDictionary<string, double> RoomMessages,
    double RoomViewerFramesDropped)
{
    /// <summary><c>mqttim_push_outcomes_total</c> summed over vendors, by result (the push bridge fills it in).</summary>
    public IReadOnlyDictionary<string, double> PushOutcomes { get; init; } = new Dictionary<string, double>();

    /// <summary><c>mqttim_push_pending_jobs</c>.</summary>
    public double PushPendingJobs { get; init; }

    private static readonly DateTimeOffset Started = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public static BrokerMetricsSnapshot Take(string nodeId, TimeProvider time, int subscriptions) => new(
        nodeId,
        time.GetUtcNow().ToUnixTimeMilliseconds(),
        (time.GetUtcNow() - Started).TotalSeconds,
        (long)ImMetrics.ConnectedDevices.Value,
        subscriptions,
        ImMetrics.MessagesAccepted.Value,
        ImMetrics.MessagesDuplicate.Value,
        ByLabel(ImMetrics.MessagesRejected),
        ImMetrics.InboxDeliveries.Value,
        ImMetrics.CommitSeconds.Count,
        ImMetrics.CommitSeconds.Sum,
        ImMetrics.CommitBatchSize.Sum,
        ImMetrics.QueueOverflowDrops.Value,
        ByLabel(ImMetrics.AclDenials),
        Sessions.SessionMetrics.Expired.Value,
        Sessions.SessionMetrics.TokenExpiryDisconnects.Value,
        ByLabel(Memory.CacheMetrics.Entries),
        ByLabel(Memory.CacheMetrics.Evictions),
        Environment.WorkingSet,
        GC.GetTotalMemory(forceFullCollection: false),
        ByLabel(Devices.DeviceMetrics.Commands),
        Devices.DeviceMetrics.TelemetryPoints.Value,
        (long)Devices.DeviceMetrics.ConnectedDevices.Value,
        (long)Rooms.RoomMetrics.Viewers.Value,
        Rooms.RoomMetrics.Frames.Value,
        ByLabel(Rooms.RoomMetrics.MessagesAccepted),
        Rooms.RoomMetrics.ViewerFramesDropped.Value);

    private static Dictionary<string, double> ByLabel(Prometheus.Counter counter) =>
        counter.GetAllLabelValues().ToDictionary(labels => labels[0], labels => counter.WithLabels(labels).Value, StringComparer.Ordinal);

    private static Dictionary<string, double> ByLabel(Prometheus.Gauge gauge) =>
        gauge.GetAllLabelValues().ToDictionary(labels => labels[0], labels => gauge.WithLabels(labels).Value, StringComparer.Ordinal);
}
