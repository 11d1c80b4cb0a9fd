namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>Telemetry, time-ordered per device, appended in batches and expired by retention.</summary>
/// <remarks>Implementations: SQLite, PostgreSQL, MongoDB; all pass <c>TelemetryStoreContract</c>.</remarks>
public interface ITelemetryStore
{
    /// <summary>Writes the batch durably (one transaction or one bulk write).</summary>
    Task AppendAsync(IReadOnlyList<TelemetryPoint> batch, CancellationToken cancellationToken);

    Task<TelemetryPoint?> GetLatestAsync(string deviceId, CancellationToken cancellationToken);

    /// <summary>Points with <paramref name="fromMs"/> ≤ received &lt; <paramref name="toMs"/> and id &gt; <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<TelemetryPoint>> QueryAsync(string deviceId, long fromMs, long toMs, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes every point received before <paramref name="cutoffMs"/>; returns how many.</summary>
    Task<long> DeleteOlderThanAsync(long cutoffMs, CancellationToken cancellationToken);
}
