using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Presence;

/// <summary>Decides whether one user may watch another's presence (<c>Presence:WatchPolicy</c>).</summary>
internal sealed class PresenceWatchPolicy(IOptions<PresenceOptions> options, IConversationStore conversationStore)
{
    public async ValueTask<bool> MayWatchAsync(string watcherId, string targetId, CancellationToken cancellationToken)
    {
        if (string.Equals(watcherId, targetId, StringComparison.Ordinal))
        {
            return true;
        }

        switch (options.Value.WatchPolicy)
        {
            case PresenceWatchRule.Anyone:
                return true;
            case PresenceWatchRule.SelfOnly:
                return false;
            default:
                // 1:1 peers and members of a common group are participants of a common conversation: one indexed lookup.
                return await conversationStore.ShareConversationAsync(watcherId, targetId, cancellationToken).ConfigureAwait(false);
        }
    }
}
