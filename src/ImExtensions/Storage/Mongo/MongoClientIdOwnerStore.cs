using MongoDB.Bson;
using MongoDB.Driver;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>Client id owners in the shared MongoDB database: one document per client id (<c>_id</c> = client id).</summary>
internal sealed class MongoClientIdOwnerStore(MongoDatabaseHandle handle) : IClientIdOwnerStore
{
    private readonly IMongoCollection<BsonDocument> _owners = handle.Database.GetCollection<BsonDocument>("client_id_owners");

    public async Task<string> ClaimAsync(string clientId, string userId, CancellationToken cancellationToken)
    {
        var filter = Builders<BsonDocument>.Filter.Eq("_id", clientId);
        var update = Builders<BsonDocument>.Update.SetOnInsert("userId", userId);
        var options = new FindOneAndUpdateOptions<BsonDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After };
        try
        {
            var document = await _owners.FindOneAndUpdateAsync(filter, update, options, cancellationToken).ConfigureAwait(false);
            return document["userId"].AsString;
        }
        catch (MongoCommandException ex) when (ex.Code == 11000)
        {
            // Two nodes upserted the same new id at once: the other won, read its binding.
            var document = await _owners.Find(filter).FirstAsync(cancellationToken).ConfigureAwait(false);
            return document["userId"].AsString;
        }
    }
}
