using Microsoft.Extensions.Logging;
using MQTTnet.Server;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>
/// Lets a publish through the per-connection rate limit or refuses it: PUBACK <c>QuotaExceeded</c> for every topic,
/// plus a <c>SendError</c> <c>rate_limited</c> on the sender's inbox for IM topics. Logs at most one line per connection per second.
/// </summary>
internal sealed class PublishRateGate(PublishRateLimiter limiter, UplinkResponder responder, ILogger<PublishRateGate> logger)
{
    /// <summary>True when the publish may proceed; otherwise the publish is refused and <paramref name="refusal"/> completes the answer.</summary>
    public bool TryAdmit(InterceptingPublishEventArgs args, ConnectedDevice device, out Task refusal)
    {
        if (limiter.TryAcquire(device))
        {
            refusal = Task.CompletedTask;
            return true;
        }

        var topic = args.ApplicationMessage.Topic;
        if (limiter.ShouldLog(device, out var suppressed))
        {
            ImLog.PublishRateLimited(logger, device.ClientId, device.UserId, topic, suppressed);
        }

        var rejection = limiter.Rejection;
        if (topic.StartsWith("im/", StringComparison.Ordinal))
        {
            refusal = responder.RejectAsync(args, device, rejection, log: false).AsTask();
            return false;
        }

        args.ProcessPublish = false;
        args.Response.ReasonCode = rejection.ReasonCode;
        args.Response.ReasonString = rejection.Message;
        ImMetrics.MessagesRejected.WithLabels(rejection.Code).Inc();
        refusal = Task.CompletedTask;
        return false;
    }
}
