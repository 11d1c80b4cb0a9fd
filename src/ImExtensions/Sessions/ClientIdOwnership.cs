using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// Binds a client id to the first user that connected with it, for good (persisted in <see cref="IClientIdOwnerStore"/>),
/// so one user can never resume, take over, park on or block another user's session, not even while it is offline
/// or after a restart. Recent bindings are cached (bounded) so a reconnect costs no store round trip; a miss writes on
/// the <see cref="StoreWorkPool"/> (null: inline), never on the socket thread that runs the CONNECT.
/// </summary>
internal sealed class ClientIdOwnership(IClientIdOwnerStore store, BoundedLruCache<string, string> cache, StoreWorkPool? workers = null)
{
    /// <summary>Claims the client id for the user; false when it belongs to another user.</summary>
    public async ValueTask<bool> TryClaimAsync(string clientId, string userId, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(clientId, out var owner))
        {
            return owner == userId;
        }

        owner = workers is null
            ? await store.ClaimAsync(clientId, userId, cancellationToken).ConfigureAwait(false)
            : await workers.RunAsync(StoreWorkKind.Write, ct => store.ClaimAsync(clientId, userId, ct), cancellationToken).ConfigureAwait(false);
        cache.Set(clientId, owner);
        return owner == userId;
    }
}
