using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>Binds a client id to the user whose session holds it, so one user can never resume or take over another's session.</summary>
internal sealed class ClientIdOwnership
{
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);

    /// <summary>Claims the client id for the user; false when another user's session holds it.</summary>
    public bool TryClaim(string clientId, string userId) =>
        _owners.GetOrAdd(clientId, userId) == userId;

    public void Release(string clientId) => _owners.TryRemove(clientId, out _);
}
