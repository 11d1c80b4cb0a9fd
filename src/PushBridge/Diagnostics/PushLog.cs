using Microsoft.Extensions.Logging;

namespace MqttIm.PushBridge.Diagnostics;

/// <summary>The push bridge's log events (ids 12xx). Credentials and tokens are never logged.</summary>
internal static partial class PushLog
{
    [LoggerMessage(1201, LogLevel.Warning, "Push to {Vendor}/{AppId} for user {UserId} failed: {Detail}")]
    public static partial void SendFailed(ILogger logger, string vendor, string appId, string userId, string detail);

    [LoggerMessage(1202, LogLevel.Error, "Push job {JobId} of user {UserId} failed and is kept for a later attempt")]
    public static partial void JobFailed(ILogger logger, Exception exception, string jobId, string userId);

    [LoggerMessage(1203, LogLevel.Information, "Push bridge started: {Apps} vendor apps, {Pending} pending jobs restored")]
    public static partial void Started(ILogger logger, int apps, int pending);

    [LoggerMessage(1204, LogLevel.Error, "Offline push intake failed for user {UserId}")]
    public static partial void IntakeFailed(ILogger logger, Exception exception, string userId);

    [LoggerMessage(1205, LogLevel.Information, "Adopted {Count} pending push jobs of dead node {DeadNodeId}")]
    public static partial void Adopted(ILogger logger, int count, string deadNodeId);
}
