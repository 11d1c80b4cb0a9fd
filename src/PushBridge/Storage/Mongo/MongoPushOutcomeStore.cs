using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.PushBridge.Outcomes;

namespace MqttIm.PushBridge.Storage.Mongo;

/// <summary>Outcome records in MongoDB; <c>messageIds</c> is an array with a multikey index for per-message queries.</summary>
internal sealed class MongoPushOutcomeStore : IPushOutcomeStore
{
    private readonly IMongoCollection<BsonDocument> _outcomes;
    private readonly Lazy<Task> _indexes;
    private long _sequence = DateTime.UtcNow.Ticks;

    public MongoPushOutcomeStore(MongoDatabaseHandle handle)
    {
        _outcomes = handle.Database.GetCollection<BsonDocument>("push_outcomes");
        _indexes = new Lazy<Task>(() => _outcomes.Indexes.CreateManyAsync([
            new CreateIndexModel<BsonDocument>(Builders<BsonDocument>.IndexKeys.Ascending("userId").Descending("order")),
            new CreateIndexModel<BsonDocument>(Builders<BsonDocument>.IndexKeys.Ascending("messageIds").Ascending("order")),
        ]));
    }

    public async Task AddAsync(PushOutcome outcome, CancellationToken cancellationToken)
    {
        await _indexes.Value.ConfigureAwait(false);
        await _outcomes.InsertOneAsync(new BsonDocument
        {
            // Insertion order within a node; across nodes at_ms orders first.
            ["order"] = Interlocked.Increment(ref _sequence), ["jobId"] = outcome.JobId, ["userId"] = outcome.UserId, ["messageIds"] = new BsonArray(outcome.MessageIds),
            ["vendor"] = outcome.Vendor, ["appId"] = outcome.AppId, ["token"] = outcome.Token, ["result"] = outcome.Result, ["detail"] = outcome.Detail,
            ["attempts"] = outcome.Attempts, ["atMs"] = outcome.AtMs,
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>In order, one insert each (no multi-document transaction).</summary>
    public async Task AddManyAsync(IReadOnlyList<PushOutcome> outcomes, CancellationToken cancellationToken)
    {
        foreach (var outcome in outcomes)
        {
            await AddAsync(outcome, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<PushOutcome>> GetForUserAsync(string userId, int limit, CancellationToken cancellationToken)
    {
        var documents = await _outcomes.Find(Builders<BsonDocument>.Filter.Eq("userId", userId))
            .Sort(Builders<BsonDocument>.Sort.Descending("atMs").Descending("order")).Limit(Math.Max(1, limit)).ToListAsync(cancellationToken).ConfigureAwait(false);
        return documents.Select(Read).ToList();
    }

    public async Task<IReadOnlyList<PushOutcome>> GetForMessageAsync(string messageId, CancellationToken cancellationToken)
    {
        var documents = await _outcomes.Find(Builders<BsonDocument>.Filter.AnyEq("messageIds", messageId))
            .Sort(Builders<BsonDocument>.Sort.Ascending("atMs").Ascending("order")).ToListAsync(cancellationToken).ConfigureAwait(false);
        return documents.Select(Read).ToList();
    }

    private static PushOutcome Read(BsonDocument d) => new(d["jobId"].AsString, d["userId"].AsString, d["messageIds"].AsBsonArray.Select(v => v.AsString).ToList(),
        d["vendor"].AsString, d["appId"].AsString, d["token"].AsString, d["result"].AsString, d["detail"].AsString, d["attempts"].AsInt32, d["atMs"].ToInt64());
}
