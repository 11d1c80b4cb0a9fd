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

    /// <summary>
    /// Granted filters of every session whose client id or filter contains <paramref name="search"/> (ordinal, case-insensitive),
    /// ordered by filter then client id, at most <paramref name="limit"/>; <c>Total</c> counts all matches.
    /// </summary>
    public (IReadOnlyList<ClientSubscriptionView> Subscriptions, int Total) List(string? search, int limit)
    {
        var matches = _byClient
            .SelectMany(client => client.Value.Select(f => new ClientSubscriptionView(client.Key, f.Key, f.Value)))
            .Where(s => string.IsNullOrEmpty(search)
                || s.ClientId.Contains(search, StringComparison.OrdinalIgnoreCase)
                || s.Filter.Contains(search, StringComparison.OrdinalIgnoreCase))
            .ToList();
        var page = matches.OrderBy(s => s.Filter, StringComparer.Ordinal).ThenBy(s => s.ClientId, StringComparer.Ordinal).Take(limit).ToList();
        return (page, matches.Count);
    }
}

/// <summary>One session's granted filter, for the console's subscriptions view.</summary>
public sealed record ClientSubscriptionView(string ClientId, string Filter, int Qos);

/// <summary>One granted topic filter and the QoS the client asked for.</summary>
public sealed record SubscriptionView(string Filter, int Qos);
