using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// Binds a client id to the first user that connected with it, for good (persisted in <see cref="IClientIdOwnerStore"/>),
/// so one user can never resume, take over, park on or block another user's session, not even while it is offline
/// or after a restart. Recent bindings are cached (bounded) so a reconnect costs no store round trip.
/// </summary>
internal sealed class ClientIdOwnership(IClientIdOwnerStore store, BoundedLruCache<string, string> cache)
{
    /// <summary>Claims the client id for the user; false when it belongs to another user.</summary>
    public async ValueTask<bool> TryClaimAsync(string clientId, string userId, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(clientId, out var owner))
        {
            return owner == userId;
        }

        owner = await store.ClaimAsync(clientId, userId, cancellationToken).ConfigureAwait(false);
        cache.Set(clientId, owner);
        return owner == userId;
    }
}
