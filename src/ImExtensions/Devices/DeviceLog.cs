using Microsoft.Extensions.Logging;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Log lines of the device hub (event ids 1001–1099).</summary>
internal static partial class DeviceLog
{
    [LoggerMessage(1001, LogLevel.Information, "Device {DeviceId} registered")]
    public static partial void Registered(ILogger logger, string deviceId);

    [LoggerMessage(1002, LogLevel.Information, "Device {DeviceId} {Change}")]
    public static partial void Changed(ILogger logger, string deviceId, string change);

    [LoggerMessage(1003, LogLevel.Warning, "Device connection refused for {DeviceId} from {Endpoint}: {Reason}")]
    public static partial void ConnectRefused(ILogger logger, string deviceId, string? endpoint, string reason);

    // One line per state change is too much at Information under load (a command has 4-5 of them; /metrics counts them
    // in mqttim_device_command_states_total): Debug, and Information only for the outcomes someone has to look at.
    [LoggerMessage(1004, LogLevel.Debug, "Command {CommandId} to {DeviceId} is {State}{Detail}")]
    public static partial void CommandState(ILogger logger, string commandId, string deviceId, string state, string detail);

    [LoggerMessage(1013, LogLevel.Information, "Command {CommandId} to {DeviceId} is {State}{Detail}")]
    public static partial void CommandNotSucceeded(ILogger logger, string commandId, string deviceId, string state, string detail);

    [LoggerMessage(1005, LogLevel.Warning, "Telemetry batch of {Count} points failed; the devices get an error PUBACK and resend")]
    public static partial void TelemetryBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(1006, LogLevel.Information, "Telemetry retention deleted {Count} points older than {Cutoff}")]
    public static partial void RetentionDeleted(ILogger logger, long count, DateTimeOffset cutoff);

    [LoggerMessage(1007, LogLevel.Warning, "Device sweep failed; retried at the next interval")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(1008, LogLevel.Warning, "Device reply of {DeviceId} refused: {Reason}")]
    public static partial void ReplyRefused(ILogger logger, string deviceId, string reason);

    [LoggerMessage(1009, LogLevel.Information, "Schedule {ScheduleId} fired: {Count} commands")]
    public static partial void ScheduleFired(ILogger logger, string scheduleId, int count);

    [LoggerMessage(1010, LogLevel.Warning, "Schedule {ScheduleId} could not be registered: {Reason}")]
    public static partial void ScheduleInvalid(ILogger logger, string scheduleId, string reason);

    [LoggerMessage(1011, LogLevel.Warning, "Command batch of {Count} writes failed; applying them one at a time")]
    public static partial void CommandBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(1012, LogLevel.Warning, "Device alert of {DeviceId} refused: {Reason}")]
    public static partial void AlertRefused(ILogger logger, string deviceId, string reason);
}
