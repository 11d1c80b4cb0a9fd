using Microsoft.Extensions.Options;

namespace MqttIm.ImExtensions.Presence;

/// <summary>Decides whether one user may watch another's presence (<c>Presence:WatchPolicy</c>).</summary>
internal sealed class PresenceWatchPolicy(IOptions<PresenceOptions> options, PresenceRelations relations)
{
    public async ValueTask<bool> MayWatchAsync(string watcherId, string targetId, CancellationToken cancellationToken)
    {
        if (string.Equals(watcherId, targetId, StringComparison.Ordinal))
        {
            return true;
        }

        return options.Value.WatchPolicy switch
        {
            PresenceWatchRule.Anyone => true,
            PresenceWatchRule.SelfOnly => false,
            // A relation both made: one unanswered message is not enough.
            _ => await relations.BothWroteAsync(watcherId, targetId, cancellationToken).ConfigureAwait(false)
                || await relations.ShareGroupAsync(watcherId, targetId, cancellationToken).ConfigureAwait(false),
        };
    }
}
