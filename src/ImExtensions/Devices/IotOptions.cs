using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Configuration section <c>Iot</c>: the device hub (registry, telemetry, commands).</summary>
/// <remarks>Not <c>Devices</c>: that section is the chat users' multi-device policy.</remarks>
public sealed class IotOptions
{
    public const string SectionName = "Iot";

    /// <summary>PBKDF2-SHA256 iterations for new secret hashes (each hash records its own count, so raising it keeps old secrets valid).</summary>
    [Range(100_000, 10_000_000)]
    public int SecretHashIterations { get; set; } = 100_000;

    /// <summary>Largest telemetry payload; larger uplinks are refused with QuotaExceeded.</summary>
    [Range(1, 16 * 1024 * 1024)]
    public int MaxTelemetryBytes { get; set; } = 65_536;

    /// <summary>How long telemetry is kept.</summary>
    public TimeSpan TelemetryRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often expired telemetry is deleted.</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most telemetry points written by one batch.</summary>
    [Range(1, 100_000)]
    public int TelemetryBatch { get; set; } = 2048;

    /// <summary>Largest alert payload (<c>device/{id}/alert</c>); larger ones are refused with QuotaExceeded.</summary>
    [Range(64, 65_536)]
    public int MaxAlertBytes { get; set; } = 4096;

    /// <summary>Alerts one device may raise per minute (each reaches every owner, and the phones of offline ones).</summary>
    [Range(1, 100_000)]
    public int MaxAlertsPerMinute { get; set; } = 60;

    /// <summary>Most command writes (issues and state changes) applied by one group commit.</summary>
    [Range(1, 100_000)]
    public int CommandBatch { get; set; } = 1024;

    /// <summary>Open (queued, sent or delivered) commands one device may have; further commands are refused.</summary>
    [Range(1, 100_000)]
    public int MaxQueuedCommandsPerDevice { get; set; } = 100;

    /// <summary>Expiry of a command whose issuer names none.</summary>
    public TimeSpan DefaultCommandExpiry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Reply timeout after delivery of a command whose issuer names none.</summary>
    public TimeSpan DefaultCommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often open commands are checked for expiry and reply timeouts.</summary>
    public TimeSpan CommandSweepInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait of a synchronous HTTP command (<c>waitSeconds</c>).</summary>
    public TimeSpan MaxSyncWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Lifetime of a device token minted without a ttl.</summary>
    public TimeSpan DefaultDeviceTokenLifetime { get; set; } = TimeSpan.FromDays(30);
}
