using MongoDB.Bson;
using MongoDB.Driver;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>Who wrote in which 1:1 conversation: one document per conversation (<c>_id</c>) with the writers as a set.</summary>
internal sealed class MongoConversationWriterStore(MongoDatabaseHandle handle) : IConversationWriterStore
{
    private readonly IMongoCollection<BsonDocument> _writers = handle.Database.GetCollection<BsonDocument>("conversation_writers");

    public async Task AddAsync(string conversationId, string userId, CancellationToken cancellationToken)
    {
        var filter = Builders<BsonDocument>.Filter.Eq("_id", conversationId);
        var update = Builders<BsonDocument>.Update.AddToSet("writers", userId);
        try
        {
            await _writers.UpdateOneAsync(filter, update, new UpdateOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoWriteException ex) when (ex.WriteError.Category == ServerErrorCategory.DuplicateKey)
        {
            // A concurrent upsert created the document first; the add-to-set now applies to it.
            await _writers.UpdateOneAsync(filter, update, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyCollection<string>> GetWritersAsync(string conversationId, CancellationToken cancellationToken)
    {
        var document = await _writers.Find(Builders<BsonDocument>.Filter.Eq("_id", conversationId)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return document is null || !document.TryGetValue("writers", out var writers)
            ? []
            : writers.AsBsonArray.Select(w => w.AsString).ToList();
    }
}
