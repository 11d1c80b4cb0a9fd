namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>A command issued by Quartz: once at <see cref="RunAtMs"/> or by <see cref="Cron"/>, to each listed device.</summary>
/// <param name="Cron">Quartz cron expression (seconds first, e.g. <c>0 0/5 * * * ?</c>); null for a one-off.</param>
/// <param name="RunAtMs">When a one-off fires; ignored for cron schedules.</param>
public sealed record CommandSchedule(
    string ScheduleId,
    IReadOnlyList<string> DeviceIds,
    string CommandName,
    string Payload,
    string? Cron,
    long RunAtMs,
    long ExpirySeconds,
    long CreatedMs);
