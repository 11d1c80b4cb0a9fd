namespace MqttIm.Broker.Listeners;

/// <summary>Log lines of the broker's packet layer (one connection each; nothing per packet on the happy path).</summary>
internal static partial class ListenerLog
{
    [LoggerMessage(510, LogLevel.Information, "Dropped connection from {Endpoint} before CONNECT: {Reason}")]
    public static partial void DroppedBeforeConnect(ILogger logger, string? endpoint, string reason);

    [LoggerMessage(511, LogLevel.Information, "Refused CONNECT from {Endpoint}: {Reason}")]
    public static partial void ConnectRefused(ILogger logger, string? endpoint, string reason);

    [LoggerMessage(512, LogLevel.Information, "Disconnected {Endpoint} for a protocol violation (0x{ReasonCode:X2}): {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, string? endpoint, byte reasonCode, string reason);

    [LoggerMessage(513, LogLevel.Warning, "Refused connection from {Endpoint}: {Pending} connections are waiting for CONNACK (Limits:MaxPendingConnections)")]
    public static partial void TooManyPending(ILogger logger, string? endpoint, int pending);
}
