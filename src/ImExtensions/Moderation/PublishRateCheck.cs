using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>
/// The verdict on one publish: through the per-connection rate limit and the user's budget (<see cref="IUserPublishBudget"/>),
/// or the rejection to answer with (PUBACK <c>QuotaExceeded</c>). Hooks' <c>PublishRateGate</c> applies it to the PUBLISH.
/// </summary>
internal sealed class PublishRateCheck(PublishRateLimiter limiter, IUserPublishBudget userBudget, IOptions<ModerationOptions> options)
{
    private static readonly ValueTask<UplinkRejection?> Admitted = new((UplinkRejection?)null);

    private readonly UplinkRejection _userRejection = UplinkRejection.RateLimited(FormattableString.Invariant(
        $"user publish rate limit exceeded: {options.Value.UserPublishesPerSecond} per second, burst {options.Value.UserPublishBurst}, over all the user's connections"));

    /// <summary>
    /// Null when the publish may proceed, otherwise why it is refused. Completes synchronously unless the user's budget
    /// has to be asked of Redis (cluster mode, the node's local allowance used up).
    /// </summary>
    public ValueTask<UplinkRejection?> CheckAsync(ConnectedDevice device)
    {
        if (!limiter.TryAcquire(device))
        {
            return new ValueTask<UplinkRejection?>(limiter.Rejection);
        }

        if (!userBudget.Enabled || device.IsAnonymous || device.IsIotDevice || device.UserId.Length == 0)
        {
            return Admitted;
        }

        var take = userBudget.TryTakeAsync(device.UserId);
        if (take.IsCompletedSuccessfully)
        {
            return take.Result ? Admitted : new ValueTask<UplinkRejection?>(_userRejection);
        }

        return AwaitUserBudgetAsync(take);
    }

    /// <summary>Whether this refusal is logged (at most one line per connection per second), and how many were not.</summary>
    public bool ShouldLog(ConnectedDevice device, out int suppressed) => limiter.ShouldLog(device, out suppressed);

    private async ValueTask<UplinkRejection?> AwaitUserBudgetAsync(ValueTask<bool> take) =>
        await take.ConfigureAwait(false) ? null : _userRejection;
}
