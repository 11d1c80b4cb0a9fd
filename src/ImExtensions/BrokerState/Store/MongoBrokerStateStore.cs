using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;

namespace MqttIm.ImExtensions.BrokerState.Store;

/// <summary>
/// Retained messages (<c>mqtt_retained</c>, id = topic), persistent sessions (<c>mqtt_sessions</c>, id = client id), their
/// subscriptions and queued messages (<c>mqtt_subscriptions</c> / <c>mqtt_queued</c>, keyed by client id) in the cluster's MongoDB.
/// A batch is applied in order, one write after another (a standalone MongoDB has no multi-document transactions).
/// </summary>
internal sealed class MongoBrokerStateStore(MongoDatabaseHandle handle) : IBrokerStateStore
{
    private readonly IMongoCollection<BsonDocument> _retained = handle.Database.GetCollection<BsonDocument>("mqtt_retained");
    private readonly IMongoCollection<BsonDocument> _sessions = handle.Database.GetCollection<BsonDocument>("mqtt_sessions");
    private readonly IMongoCollection<BsonDocument> _subscriptions = handle.Database.GetCollection<BsonDocument>("mqtt_subscriptions");
    private readonly IMongoCollection<BsonDocument> _queued = handle.Database.GetCollection<BsonDocument>("mqtt_queued");
    private static readonly ReplaceOptions Upsert = new() { IsUpsert = true };
    private static FilterDefinitionBuilder<BsonDocument> Filter => Builders<BsonDocument>.Filter;

    public async Task<BrokerStateSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        var retained = (await _retained.Find(FilterDefinition<BsonDocument>.Empty).ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(d => ReadMessage(d, d["_id"].AsString)).OrderBy(m => m.Topic, StringComparer.Ordinal).ToList();
        var sessions = (await _sessions.Find(FilterDefinition<BsonDocument>.Empty).ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(d => new StoredSession(d["_id"].AsString, d["expiry"].ToInt64(), d["disconnected"].ToInt64()))
            .OrderBy(s => s.ClientId, StringComparer.Ordinal).ToList();
        var subscriptions = (await _subscriptions.Find(FilterDefinition<BsonDocument>.Empty).ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(d => new StoredSubscription(d["client"].AsString, d["filter"].AsString, d["options"].ToInt32()))
            .OrderBy(s => s.ClientId, StringComparer.Ordinal).ThenBy(s => s.Filter, StringComparer.Ordinal).ToList();
        var queued = (await _queued.Find(FilterDefinition<BsonDocument>.Empty).ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(d => new QueuedMqttMessage(d["client"].AsString, d["queueId"].ToInt64(), ReadMessage(d, d["topic"].AsString)))
            .OrderBy(q => q.ClientId, StringComparer.Ordinal).ThenBy(q => q.QueueId).ToList();
        return new BrokerStateSnapshot(retained, sessions, subscriptions, queued);
    }

    public async Task ApplyAsync(IReadOnlyList<BrokerStateChange> changes, CancellationToken cancellationToken)
    {
        foreach (var change in changes)
        {
            await ApplyAsync(change, cancellationToken).ConfigureAwait(false);
        }
    }

    private Task ApplyAsync(BrokerStateChange change, CancellationToken ct) => change switch
    {
        BrokerStateChange.RetainedSet { Message: var m } => _retained.ReplaceOneAsync(Filter.Eq("_id", m.Topic), MessageDocument(m, new BsonDocument("_id", m.Topic)), Upsert, ct),
        BrokerStateChange.RetainedDeleted { Topic: var topic } => _retained.DeleteOneAsync(Filter.Eq("_id", topic), ct),
        BrokerStateChange.RetainedCleared => _retained.DeleteManyAsync(FilterDefinition<BsonDocument>.Empty, ct),
        BrokerStateChange.SessionSaved { Session: var s } => _sessions.ReplaceOneAsync(Filter.Eq("_id", s.ClientId),
            new BsonDocument { { "_id", s.ClientId }, { "expiry", s.ExpirySeconds }, { "disconnected", s.DisconnectedAtMs } }, Upsert, ct),
        BrokerStateChange.SessionDeleted { ClientId: var c } => DeleteSessionAsync(c, ct),
        BrokerStateChange.SubscriptionSaved { Subscription: var s } => _subscriptions.ReplaceOneAsync(Filter.Eq("_id", SubscriptionId(s.ClientId, s.Filter)),
            new BsonDocument { { "_id", SubscriptionId(s.ClientId, s.Filter) }, { "client", s.ClientId }, { "filter", s.Filter }, { "options", s.Options } }, Upsert, ct),
        BrokerStateChange.SubscriptionDeleted d => _subscriptions.DeleteOneAsync(Filter.Eq("_id", SubscriptionId(d.ClientId, d.Filter)), ct),
        BrokerStateChange.MessageQueued { Queued: var q } => _queued.ReplaceOneAsync(Filter.Eq("_id", QueuedId(q.ClientId, q.QueueId)),
            MessageDocument(q.Message, new BsonDocument { { "_id", QueuedId(q.ClientId, q.QueueId) }, { "client", q.ClientId }, { "queueId", q.QueueId }, { "topic", q.Message.Topic } }), Upsert, ct),
        BrokerStateChange.QueuedMessageDeleted d => _queued.DeleteOneAsync(Filter.Eq("_id", QueuedId(d.ClientId, d.QueueId)), ct),
        _ => throw new ArgumentOutOfRangeException(nameof(change), change, "unknown broker state change"),
    };

    private async Task DeleteSessionAsync(string clientId, CancellationToken ct)
    {
        await _sessions.DeleteOneAsync(Filter.Eq("_id", clientId), ct).ConfigureAwait(false);
        await _subscriptions.DeleteManyAsync(Filter.Eq("client", clientId), ct).ConfigureAwait(false);
        await _queued.DeleteManyAsync(Filter.Eq("client", clientId), ct).ConfigureAwait(false);
    }

    // Client ids never contain U+0000 (the packet layer refuses them), so it separates the parts of a key.
    private static string SubscriptionId(string clientId, string filter) => clientId + "\0" + filter;

    private static string QueuedId(string clientId, long queueId) => clientId + "\0" + queueId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static BsonDocument MessageDocument(StoredMqttMessage message, BsonDocument document)
    {
        document["qos"] = message.Qos;
        document["payload"] = new BsonBinaryData(message.Payload);
        document["properties"] = message.Properties is null ? BsonNull.Value : new BsonBinaryData(message.Properties);
        document["stored"] = message.StoredAtMs;
        return document;
    }

    private static StoredMqttMessage ReadMessage(BsonDocument document, string topic) => new(
        topic,
        document["payload"].AsByteArray,
        document["qos"].ToInt32(),
        document["properties"].IsBsonNull ? null : document["properties"].AsByteArray,
        document["stored"].ToInt64());
}
