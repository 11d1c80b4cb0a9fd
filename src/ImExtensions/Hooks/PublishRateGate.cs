using Microsoft.Extensions.Logging;
using MQTTnet.Server;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Moderation;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// Applies <see cref="PublishRateCheck"/>'s verdict to the PUBLISH: a refused one gets PUBACK <c>QuotaExceeded</c> for
/// every topic, plus a <c>SendError</c> <c>rate_limited</c> on the sender's inbox for IM topics. Logs at most one line
/// per connection per second.
/// </summary>
internal sealed class PublishRateGate(PublishRateCheck check, UplinkResponder responder, ILogger<PublishRateGate> logger)
{
    /// <summary>
    /// True when the publish may proceed; false when it was refused (the answer is set up). Completes synchronously
    /// unless the user's budget has to be asked of Redis (cluster mode, the node's local allowance used up).
    /// </summary>
    public ValueTask<bool> AdmitAsync(InterceptingPublishEventArgs args, ConnectedDevice device)
    {
        var verdict = check.CheckAsync(device);
        if (!verdict.IsCompletedSuccessfully)
        {
            return AwaitVerdictAsync(verdict, args, device);
        }

        return verdict.Result is { } rejection ? RefuseAsync(args, device, rejection) : new ValueTask<bool>(true);
    }

    private async ValueTask<bool> AwaitVerdictAsync(ValueTask<UplinkRejection?> verdict, InterceptingPublishEventArgs args, ConnectedDevice device) =>
        await verdict.ConfigureAwait(false) is not { } rejection || await RefuseAsync(args, device, rejection).ConfigureAwait(false);

    private async ValueTask<bool> RefuseAsync(InterceptingPublishEventArgs args, ConnectedDevice device, UplinkRejection rejection)
    {
        var topic = args.ApplicationMessage.Topic;
        if (check.ShouldLog(device, out var suppressed))
        {
            ImLog.PublishRateLimited(logger, device.ClientId, device.UserId, topic, suppressed);
        }

        if (topic.StartsWith("im/", StringComparison.Ordinal))
        {
            var verdict = await responder.RejectAsync(device, topic, rejection, clientMsgId: "", args.CancellationToken, log: false).ConfigureAwait(false);
            UplinkAnswer.Apply(args, device, verdict);
            return false;
        }

        UplinkAnswer.Refuse(args, rejection);
        ImMetrics.MessagesRejected.WithLabels(rejection.Code).Inc();
        return false;
    }
}
