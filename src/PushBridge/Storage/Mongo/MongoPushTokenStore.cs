using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Storage.Mongo;

/// <summary>The token registry in MongoDB: <c>_id</c> = vendor + token, so a re-registration (upsert) moves the token.</summary>
internal sealed class MongoPushTokenStore : IPushTokenStore
{
    private readonly IMongoCollection<BsonDocument> _tokens;
    private readonly IMongoCollection<BsonDocument> _preferences;
    private readonly Lazy<Task> _indexes;

    public MongoPushTokenStore(MongoDatabaseHandle handle)
    {
        _tokens = handle.Database.GetCollection<BsonDocument>("push_tokens");
        _preferences = handle.Database.GetCollection<BsonDocument>("push_preferences");
        _indexes = new Lazy<Task>(() => _tokens.Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(
            Builders<BsonDocument>.IndexKeys.Ascending("userId").Ascending("deviceId"))));
    }

    public async Task RegisterAsync(PushToken token, CancellationToken cancellationToken)
    {
        await _indexes.Value.ConfigureAwait(false);
        var document = new BsonDocument
        {
            ["_id"] = Key(token.Vendor, token.Token), ["userId"] = token.UserId, ["deviceId"] = token.DeviceId, ["vendor"] = token.Vendor,
            ["appId"] = token.AppId, ["token"] = token.Token, ["environment"] = token.Environment, ["locale"] = token.Locale,
            ["privacy"] = token.Privacy, ["preference"] = token.Preference, ["updatedMs"] = token.UpdatedMs,
        };
        await _tokens.ReplaceOneAsync(Builders<BsonDocument>.Filter.Eq("_id", document["_id"]), document, new ReplaceOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> UnregisterAsync(string userId, string vendor, string token, CancellationToken cancellationToken)
    {
        var filter = Builders<BsonDocument>.Filter.Eq("_id", Key(vendor, token)) & Builders<BsonDocument>.Filter.Eq("userId", userId);
        return (await _tokens.DeleteOneAsync(filter, cancellationToken).ConfigureAwait(false)).DeletedCount > 0;
    }

    public async Task<int> UnregisterDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken)
    {
        var filter = Builders<BsonDocument>.Filter.Eq("userId", userId) & Builders<BsonDocument>.Filter.Eq("deviceId", deviceId);
        return (int)(await _tokens.DeleteManyAsync(filter, cancellationToken).ConfigureAwait(false)).DeletedCount;
    }

    public async Task<bool> RemoveAsync(string vendor, string token, CancellationToken cancellationToken) =>
        (await _tokens.DeleteOneAsync(Builders<BsonDocument>.Filter.Eq("_id", Key(vendor, token)), cancellationToken).ConfigureAwait(false)).DeletedCount > 0;

    public async Task<IReadOnlyList<PushToken>> GetForUserAsync(string userId, CancellationToken cancellationToken)
    {
        var documents = await _tokens.Find(Builders<BsonDocument>.Filter.Eq("userId", userId))
            .Sort(Builders<BsonDocument>.Sort.Ascending("deviceId").Ascending("preference").Descending("updatedMs"))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return documents.Select(d => new PushToken(d["userId"].AsString, d["deviceId"].AsString, d["vendor"].AsString, d["appId"].AsString, d["token"].AsString,
            d["environment"].AsString, d["locale"].AsString, d["privacy"].AsBoolean, d["preference"].AsInt32, d["updatedMs"].ToInt64())).ToList();
    }

    public Task SetPreferencesAsync(PushPreferences preferences, CancellationToken cancellationToken)
    {
        var document = new BsonDocument
        {
            ["_id"] = preferences.UserId, ["quietStart"] = preferences.QuietStartMinute, ["quietEnd"] = preferences.QuietEndMinute, ["timeZone"] = preferences.TimeZone,
        };
        return _preferences.ReplaceOneAsync(Builders<BsonDocument>.Filter.Eq("_id", preferences.UserId), document, new ReplaceOptions { IsUpsert = true }, cancellationToken);
    }

    public async Task<PushPreferences?> GetPreferencesAsync(string userId, CancellationToken cancellationToken)
    {
        var d = await _preferences.Find(Builders<BsonDocument>.Filter.Eq("_id", userId)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return d is null ? null : new PushPreferences(userId, d["quietStart"].AsInt32, d["quietEnd"].AsInt32, d["timeZone"].AsString);
    }

    private static string Key(string vendor, string token) => vendor + ":" + token;
}
