using Microsoft.Extensions.Logging;

namespace MqttIm.ImExtensions.Diagnostics;

/// <summary>Every log line of the IM layer, with fixed event ids (1xx connect, 2xx ACL, 3xx messaging, 4xx store, 5xx hooks, 6xx moderation). Highest used: 602.</summary>
internal static partial class ImLog
{
    [LoggerMessage(101, LogLevel.Information, "Refused connection of client {ClientId} (user {UserName}) from {Endpoint}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string clientId, string? userName, string? endpoint, string reason);

    [LoggerMessage(102, LogLevel.Debug, "Client {ClientId} of user {UserId} connected over MQTT {Version}, downlink {Format}")]
    public static partial void DeviceConnected(ILogger logger, string clientId, string userId, string version, string format);

    [LoggerMessage(103, LogLevel.Debug, "Client {ClientId} of user {UserId} disconnected ({Type}, {Endpoint})")]
    public static partial void DeviceDisconnected(ILogger logger, string clientId, string? userId, string type, string endpoint);

    [LoggerMessage(104, LogLevel.Warning, "Queue of client {ClientId} is full: dropped its oldest queued message ({Suppressed} more drops since the last line); IM devices recover by sync")]
    public static partial void QueueOverflow(ILogger logger, string clientId, int suppressed);

    [LoggerMessage(120, LogLevel.Debug, "Presence of user {UserId}: online={Online}, {DeviceCount} devices")]
    public static partial void PresencePublished(ILogger logger, string userId, bool online, int deviceCount);

    [LoggerMessage(121, LogLevel.Warning, "Publishing the presence of user {UserId} failed; the next change publishes it again")]
    public static partial void PresencePublishFailed(ILogger logger, Exception exception, string userId);

    [LoggerMessage(122, LogLevel.Warning, "Disconnecting displaced device {ClientId} failed")]
    public static partial void KickFailed(ILogger logger, Exception exception, string clientId);

    [LoggerMessage(201, LogLevel.Warning, "Denied subscribe of client {ClientId} (user {UserId}) to {Filter}: {Reason}")]
    public static partial void SubscribeDenied(ILogger logger, string clientId, string userId, string filter, string reason);

    [LoggerMessage(202, LogLevel.Warning, "Denied publish of client {ClientId} (user {UserId}) to {Topic}: {Reason}")]
    public static partial void PublishDenied(ILogger logger, string clientId, string userId, string topic, string reason);

    [LoggerMessage(301, LogLevel.Information, "Rejected message of client {ClientId} on {Topic}: {Reason}")]
    public static partial void MessageRejected(ILogger logger, string clientId, string topic, string reason);

    [LoggerMessage(401, LogLevel.Error, "Store commit of {Count} messages failed; the senders get an error and nothing is acknowledged")]
    public static partial void CommitFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(402, LogLevel.Warning, "Store commit attempt {Attempt} failed, retrying")]
    public static partial void CommitRetry(ILogger logger, Exception? exception, int attempt);

    [LoggerMessage(501, LogLevel.Error, "Hook {Hook} failed for client {ClientId}; answered with an error instead of dropping the client")]
    public static partial void HookFailed(ILogger logger, Exception exception, string hook, string clientId);

    [LoggerMessage(502, LogLevel.Warning, "Refused oversized packet from {Endpoint}: {Size} bytes > limit {Limit}")]
    public static partial void PacketTooLarge(ILogger logger, string? endpoint, long size, long limit);

    [LoggerMessage(503, LogLevel.Information, "Kicked client {ClientId}: {Reason}")]
    public static partial void ClientKicked(ILogger logger, string clientId, string reason);

    [LoggerMessage(601, LogLevel.Warning, "Rate-limited publish of client {ClientId} (user {UserId}) to {Topic}; {Suppressed} more since the previous line")]
    public static partial void PublishRateLimited(ILogger logger, string clientId, string userId, string topic, int suppressed);

    [LoggerMessage(602, LogLevel.Information, "Sensitive-word filter on: {Count} words, mode {Mode}")]
    public static partial void SensitiveWordsLoaded(ILogger logger, int count, string mode);
}
