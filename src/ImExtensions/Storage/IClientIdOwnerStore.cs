namespace MqttIm.ImExtensions.Storage;

/// <summary>
/// Which user a client id belongs to: the first user that connected with it keeps it for good, so no other user can
/// take over, park on or block that user's device id, also after a restart.
/// </summary>
/// <remarks>Implementations: SQLite (embedded), PostgreSQL, MongoDB; all pass <c>ClientIdOwnerStoreContract</c>.</remarks>
public interface IClientIdOwnerStore
{
    /// <summary>Binds the client id to <paramref name="userId"/> unless it is bound already; returns the owner either way.</summary>
    Task<string> ClaimAsync(string clientId, string userId, CancellationToken cancellationToken);
}
