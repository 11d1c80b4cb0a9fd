using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// Every granted subscription per client id, for the operations console. Kept here because inbox and presence
/// subscriptions are granted without MQTTnet storing them, so MQTTnet alone cannot list what a device listens to.
/// Entries live as long as the session (a resumed persistent session keeps them).
/// </summary>
public sealed class ClientSubscriptions
{
    // Client id → its filters as a small array replaced on every change (copy-on-write): a device holds a handful of
    // subscriptions, and a dictionary per client cost every subscribed connection ~600 B.
    private readonly ConcurrentDictionary<string, SubscriptionView[]> _byClient = new(StringComparer.Ordinal);

    public void Granted(string clientId, string filter, int qos) =>
        _byClient.AddOrUpdate(clientId, static (_, added) => [added], static (_, filters, added) =>
        {
            var i = Array.FindIndex(filters, f => string.Equals(f.Filter, added.Filter, StringComparison.Ordinal));
            if (i < 0)
            {
                return [.. filters, added];
            }

            if (filters[i].Qos == added.Qos)
            {
                return filters;
            }

            var copy = (SubscriptionView[])filters.Clone();
            copy[i] = added;
            return copy;
        }, new SubscriptionView(filter, qos));

    public void Removed(string clientId, string filter)
    {
        while (_byClient.TryGetValue(clientId, out var filters))
        {
            var remaining = Array.FindAll(filters, f => !string.Equals(f.Filter, filter, StringComparison.Ordinal));
            if (remaining.Length == filters.Length || _byClient.TryUpdate(clientId, remaining, filters))
            {
                return;
            }
        }
    }

    /// <summary>The session ended (clean start or expiry): its subscriptions are gone with it.</summary>
    public void SessionEnded(string clientId) => _byClient.TryRemove(clientId, out _);

    public IReadOnlyList<SubscriptionView> Of(string clientId) =>
        _byClient.TryGetValue(clientId, out var filters)
            ? [.. filters.OrderBy(s => s.Filter, StringComparer.Ordinal)]
            : [];

    public int Count => _byClient.Values.Sum(f => f.Length);

    /// <summary>
    /// Granted filters of every session whose client id or filter contains <paramref name="search"/> (ordinal, case-insensitive),
    /// ordered by filter then client id, at most <paramref name="limit"/>; <c>Total</c> counts all matches.
    /// </summary>
    public (IReadOnlyList<ClientSubscriptionView> Subscriptions, int Total) List(string? search, int limit)
    {
        var matches = _byClient
            .SelectMany(client => client.Value.Select(f => new ClientSubscriptionView(client.Key, f.Filter, f.Qos)))
            .Where(s => string.IsNullOrEmpty(search)
                || s.ClientId.Contains(search, StringComparison.OrdinalIgnoreCase)
                || s.Filter.Contains(search, StringComparison.OrdinalIgnoreCase))
            .ToList();
        var page = matches.OrderBy(s => s.Filter, StringComparer.Ordinal).ThenBy(s => s.ClientId, StringComparer.Ordinal).Take(limit).ToList();
        return (page, matches.Count);
    }
}

/// <summary>One session's granted filter, for the console's subscriptions view (in a cluster with the node that holds the session).</summary>
public sealed record ClientSubscriptionView(string ClientId, string Filter, int Qos, string? NodeId = null);

/// <summary>One granted topic filter and the QoS the client asked for.</summary>
public sealed record SubscriptionView(string Filter, int Qos);
