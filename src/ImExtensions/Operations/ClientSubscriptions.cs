using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// Every granted subscription per client id, for the operations console. Kept here because inbox and presence
/// subscriptions are granted without MQTTnet storing them, so MQTTnet alone cannot list what a device listens to.
/// Entries live as long as the session (a resumed persistent session keeps them).
/// </summary>
public sealed class ClientSubscriptions
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, int>> _byClient = new(StringComparer.Ordinal);

    public void Granted(string clientId, string filter, int qos) =>
        _byClient.GetOrAdd(clientId, _ => new ConcurrentDictionary<string, int>(StringComparer.Ordinal))[filter] = qos;

    public void Removed(string clientId, string filter)
    {
        if (_byClient.TryGetValue(clientId, out var filters))
        {
            filters.TryRemove(filter, out _);
        }
    }

    /// <summary>The session ended (clean start or expiry): its subscriptions are gone with it.</summary>
    public void SessionEnded(string clientId) => _byClient.TryRemove(clientId, out _);

    public IReadOnlyList<SubscriptionView> Of(string clientId) =>
        _byClient.TryGetValue(clientId, out var filters)
            ? [.. filters.Select(f => new SubscriptionView(f.Key, f.Value)).OrderBy(s => s.Filter, StringComparer.Ordinal)]
            : [];

    public int Count => _byClient.Values.Sum(f => f.Count);
}

/// <summary>One granted topic filter and the QoS the client asked for.</summary>
public sealed record SubscriptionView(string Filter, int Qos);
