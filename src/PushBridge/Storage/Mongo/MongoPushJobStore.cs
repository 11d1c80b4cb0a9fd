using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.PushBridge.Jobs;

namespace MqttIm.PushBridge.Storage.Mongo;

/// <summary>The durable job queue in MongoDB: one document per pending job (the job as JSON plus the fields queried).</summary>
internal sealed class MongoPushJobStore : IPushJobStore
{
    private readonly IMongoCollection<BsonDocument> _jobs;
    private readonly Lazy<Task> _indexes;

    public MongoPushJobStore(MongoDatabaseHandle handle)
    {
        _jobs = handle.Database.GetCollection<BsonDocument>("push_jobs");
        _indexes = new Lazy<Task>(() => _jobs.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(Builders<BsonDocument>.IndexKeys.Ascending("userId"))));
    }

    public async Task SaveAsync(PushJob job, CancellationToken cancellationToken)
    {
        await _indexes.Value.ConfigureAwait(false);
        var document = new BsonDocument { ["_id"] = job.Id, ["userId"] = job.UserId, ["dueMs"] = job.DueMs, ["job"] = PushJobJson.Serialize(job) };
        await _jobs.ReplaceOneAsync(Builders<BsonDocument>.Filter.Eq("_id", job.Id), document, new ReplaceOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string jobId, CancellationToken cancellationToken) =>
        (await _jobs.DeleteOneAsync(Builders<BsonDocument>.Filter.Eq("_id", jobId), cancellationToken).ConfigureAwait(false)).DeletedCount > 0;

    /// <summary>In order, one write each (no multi-document transaction: each is durable on its own).</summary>
    public async Task<IReadOnlyList<bool>> ApplyAsync(IReadOnlyList<PushJobWrite> writes, CancellationToken cancellationToken)
    {
        var results = new List<bool>(writes.Count);
        foreach (var write in writes)
        {
            if (write.Save is { } job)
            {
                await SaveAsync(job, cancellationToken).ConfigureAwait(false);
                results.Add(true);
            }
            else
            {
                results.Add(await DeleteAsync(write.DeleteId!, cancellationToken).ConfigureAwait(false));
            }
        }

        return results;
    }

    public Task<IReadOnlyList<PushJob>> GetAllAsync(CancellationToken cancellationToken) => QueryAsync(Builders<BsonDocument>.Filter.Empty, cancellationToken);

    public Task<IReadOnlyList<PushJob>> GetForUserAsync(string userId, CancellationToken cancellationToken) =>
        QueryAsync(Builders<BsonDocument>.Filter.Eq("userId", userId), cancellationToken);

    private async Task<IReadOnlyList<PushJob>> QueryAsync(FilterDefinition<BsonDocument> filter, CancellationToken cancellationToken)
    {
        var documents = await _jobs.Find(filter).Sort(Builders<BsonDocument>.Sort.Ascending("dueMs").Ascending("_id")).ToListAsync(cancellationToken).ConfigureAwait(false);
        return documents.Select(d => PushJobJson.Deserialize(d["job"].AsString)).ToList();
    }
}
