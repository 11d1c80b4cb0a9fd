using Microsoft.Extensions.Logging;

namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>Log lines of shared subscriptions (event ids 25x).</summary>
internal static partial class SharedSubscriptionLog
{
    [LoggerMessage(251, LogLevel.Information, "Refused shared subscription of client {ClientId} to {Filter} (reason code 0x{ReasonCode:X2}): {Reason}")]
    public static partial void SubscribeRefused(ILogger logger, string clientId, string filter, int reasonCode, string reason);

    [LoggerMessage(252, LogLevel.Debug, "Client {ClientId} joined shared group {ShareName} on {Filter} at QoS {Qos}")]
    public static partial void Joined(ILogger logger, string clientId, string shareName, string filter, int qos);
}
