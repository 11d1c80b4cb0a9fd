using Google.Protobuf;
using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage.Mongo;

namespace MqttIm.ImExtensions.Rooms.Store;

/// <summary>Rooms (<c>rooms</c>) and their replay window (<c>room_replay</c>, id = room + seq) in the cluster's MongoDB.</summary>
internal sealed class MongoRoomStore : IRoomStore
{
    private readonly IMongoCollection<BsonDocument> _rooms;
    private readonly IMongoCollection<BsonDocument> _replay;
    private readonly Lazy<Task> _indexes;

    public MongoRoomStore(MongoDatabaseHandle handle)
    {
        _rooms = handle.Database.GetCollection<BsonDocument>("rooms");
        _replay = handle.Database.GetCollection<BsonDocument>("room_replay");
        _indexes = new Lazy<Task>(() => _replay.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<BsonDocument>(Builders<BsonDocument>.IndexKeys.Ascending("room").Ascending("seq"), new CreateIndexOptions { Unique = true }),
            new CreateIndexModel<BsonDocument>(Builders<BsonDocument>.IndexKeys.Ascending("time")),
        ]));
    }

    public async Task<bool> CreateRoomAsync(RoomInfo room, CancellationToken cancellationToken)
    {
        try
        {
            await _rooms.InsertOneAsync(new BsonDocument { { "_id", room.RoomId }, { "info", room.ToByteArray() } }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MongoWriteException ex) when (ex.WriteError.Category == ServerErrorCategory.DuplicateKey)
        {
            return false;
        }
    }

    public Task UpdateRoomAsync(RoomInfo room, CancellationToken cancellationToken) =>
        _rooms.UpdateOneAsync(Builders<BsonDocument>.Filter.Eq("_id", room.RoomId),
            Builders<BsonDocument>.Update.Set("info", room.ToByteArray()), cancellationToken: cancellationToken);

    public async Task<RoomInfo?> GetRoomAsync(string roomId, CancellationToken cancellationToken)
    {
        var document = await _rooms.Find(Builders<BsonDocument>.Filter.Eq("_id", roomId)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return document is null ? null : RoomInfo.Parser.ParseFrom(document["info"].AsByteArray);
    }

    public async Task AppendReplayAsync(string roomId, RoomMessage message, CancellationToken cancellationToken)
    {
        await _indexes.Value.ConfigureAwait(false);
        try
        {
            await _replay.InsertOneAsync(new BsonDocument
            {
                { "room", roomId }, { "seq", message.Seq }, { "time", message.ServerTimeMs }, { "message", message.ToByteArray() },
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (MongoWriteException ex) when (ex.WriteError.Category == ServerErrorCategory.DuplicateKey)
        {
            // Stored before: the first copy stays.
        }
    }

    public async Task<IReadOnlyList<RoomMessage>> ReadReplayAsync(string roomId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        var filter = Builders<BsonDocument>.Filter.Eq("room", roomId) & Builders<BsonDocument>.Filter.Gt("seq", afterSeq);
        var documents = await _replay.Find(filter).Sort(Builders<BsonDocument>.Sort.Ascending("seq")).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return documents.ConvertAll(d => RoomMessage.Parser.ParseFrom(d["message"].AsByteArray));
    }

    public async Task<long> GetMaxSeqAsync(string roomId, CancellationToken cancellationToken)
    {
        var newest = await _replay.Find(Builders<BsonDocument>.Filter.Eq("room", roomId))
            .Sort(Builders<BsonDocument>.Sort.Descending("seq")).Limit(1).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return newest is null ? 0 : newest["seq"].ToInt64();
    }

    public async Task<int> TrimReplayAsync(long olderThanMs, CancellationToken cancellationToken)
    {
        // Each room's newest entry stays: it carries the room's max seq for a restarting sequencer.
        var rooms = await _replay.Distinct<string>("room", Builders<BsonDocument>.Filter.Lt("time", olderThanMs), cancellationToken: cancellationToken).ToListAsync(cancellationToken).ConfigureAwait(false);
        var removed = 0L;
        foreach (var room in rooms)
        {
            var max = await GetMaxSeqAsync(room, cancellationToken).ConfigureAwait(false);
            var filter = Builders<BsonDocument>.Filter.Eq("room", room) & Builders<BsonDocument>.Filter.Lt("time", olderThanMs) & Builders<BsonDocument>.Filter.Lt("seq", max);
            removed += (await _replay.DeleteManyAsync(filter, cancellationToken).ConfigureAwait(false)).DeletedCount;
        }

        return (int)removed;
    }
}
