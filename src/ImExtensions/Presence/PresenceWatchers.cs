namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// Which client holds a granted <c>presence/{userId}</c> subscription to whom. MQTTnet matches <c>#</c> and
/// <c>+/…</c> filters against presence topics too; only clients listed here get presence updates.
/// </summary>
internal sealed class PresenceWatchers
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<string>> _targetsByClient = new(StringComparer.Ordinal);

    public void Add(string clientId, string targetUserId)
    {
        lock (_gate)
        {
            if (!_targetsByClient.TryGetValue(clientId, out var targets))
            {
                _targetsByClient[clientId] = targets = new HashSet<string>(StringComparer.Ordinal);
            }

            targets.Add(targetUserId);
        }
    }

    public void Remove(string clientId, string targetUserId)
    {
        lock (_gate)
        {
            if (_targetsByClient.TryGetValue(clientId, out var targets) && targets.Remove(targetUserId) && targets.Count == 0)
            {
                _targetsByClient.Remove(clientId);
            }
        }
    }

    /// <summary>Forgets every watch of a client whose session ended.</summary>
    public void RemoveClient(string clientId)
    {
        lock (_gate)
        {
            _targetsByClient.Remove(clientId);
        }
    }

    public bool IsWatching(string clientId, string targetUserId)
    {
        lock (_gate)
        {
            return _targetsByClient.TryGetValue(clientId, out var targets) && targets.Contains(targetUserId);
        }
    }
}
