using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// Decides whether one user may watch another's presence (<c>Presence:WatchPolicy</c>). A relation check may read the
/// store (writers, group memberships), so it runs on the <see cref="StoreWorkPool"/> (null: inline), not on the
/// socket thread that handles the SUBSCRIBE.
/// </summary>
internal sealed class PresenceWatchPolicy(IOptions<PresenceOptions> options, PresenceRelations relations, StoreWorkPool? workers = null)
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
            _ => workers is null
                ? await RelatedAsync(watcherId, targetId, cancellationToken).ConfigureAwait(false)
                : await workers.RunAsync(StoreWorkKind.Read, ct => RelatedAsync(watcherId, targetId, ct), cancellationToken).ConfigureAwait(false),
        };
    }

    private async Task<bool> RelatedAsync(string watcherId, string targetId, CancellationToken cancellationToken) =>
        await relations.BothWroteAsync(watcherId, targetId, cancellationToken).ConfigureAwait(false)
        || await relations.ShareGroupAsync(watcherId, targetId, cancellationToken).ConfigureAwait(false);
}
