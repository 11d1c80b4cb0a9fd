using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Server;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>
/// Lets a publish through the per-connection rate limit and the user's budget (<see cref="IUserPublishBudget"/>) or
/// refuses it: PUBACK <c>QuotaExceeded</c> for every topic, plus a <c>SendError</c> <c>rate_limited</c> on the sender's
/// inbox for IM topics. Logs at most one line per connection per second.
/// </summary>
internal sealed class PublishRateGate(
    PublishRateLimiter limiter,
    IUserPublishBudget userBudget,
    IOptions<ModerationOptions> options,
    UplinkResponder responder,
    ILogger<PublishRateGate> logger)
{
    private readonly UplinkRejection _userRejection = UplinkRejection.RateLimited(FormattableString.Invariant(
        $"user publish rate limit exceeded: {options.Value.UserPublishesPerSecond} per second, burst {options.Value.UserPublishBurst}, over all the user's connections"));

    /// <summary>
    /// True when the publish may proceed; false when it was refused (the answer is set up). Completes synchronously
    /// unless the user's budget has to be asked of Redis (cluster mode, the node's local allowance used up).
    /// </summary>
    public ValueTask<bool> AdmitAsync(InterceptingPublishEventArgs args, ConnectedDevice device)
    {
        if (!limiter.TryAcquire(device))
        {
            return RefuseAsync(args, device, limiter.Rejection);
        }

        if (!userBudget.Enabled || device.IsAnonymous || device.IsIotDevice || device.UserId.Length == 0)
        {
            return new ValueTask<bool>(true);
        }

        var take = userBudget.TryTakeAsync(device.UserId);
        if (take.IsCompletedSuccessfully)
        {
            return take.Result ? new ValueTask<bool>(true) : RefuseAsync(args, device, _userRejection);
        }

        return AwaitUserBudgetAsync(take, args, device);
    }

    private async ValueTask<bool> AwaitUserBudgetAsync(ValueTask<bool> take, InterceptingPublishEventArgs args, ConnectedDevice device) =>
        await take.ConfigureAwait(false) || await RefuseAsync(args, device, _userRejection).ConfigureAwait(false);

    private async ValueTask<bool> RefuseAsync(InterceptingPublishEventArgs args, ConnectedDevice device, UplinkRejection rejection)
    {
        var topic = args.ApplicationMessage.Topic;
        if (limiter.ShouldLog(device, out var suppressed))
        {
            ImLog.PublishRateLimited(logger, device.ClientId, device.UserId, topic, suppressed);
        }

        if (topic.StartsWith("im/", StringComparison.Ordinal))
        {
            await responder.RejectAsync(args, device, rejection, log: false).ConfigureAwait(false);
            return false;
        }

        args.ProcessPublish = false;
        args.Response.ReasonCode = rejection.ReasonCode;
        args.Response.ReasonString = rejection.Message;
        ImMetrics.MessagesRejected.WithLabels(rejection.Code).Inc();
        return false;
    }
}
