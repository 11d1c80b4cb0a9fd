using MongoDB.Bson;
using MongoDB.Driver;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>
/// The collections the MongoDB message and conversation stores share, with their indexes and intended shard keys:
/// <list type="bullet">
/// <item><c>messages</c>: <c>_id</c> = <c>{conversation_id}#{seq}</c>; unique (conversation_id, seq) for reads and seq
/// uniqueness; unique partial (conversation_id, sender_id, client_msg_id) for dedup. Shard key <c>{ conversation_id: 1 }</c>
/// (ranged: both unique indexes start with it, which a hashed key would not allow).</item>
/// <item><c>conversations</c> (heads): <c>_id</c> = conversation id. Shard key <c>{ _id: "hashed" }</c>.</item>
/// <item><c>user_conversations</c>: unique (user_id, conversation_id) for a user's rows, (conversation_id, user_id) for a
/// conversation's participants. Shard key <c>{ user_id: 1, conversation_id: 1 }</c>.</item>
/// <item><c>user_unread</c>: <c>_id</c> = user id, the user's kept total unread (<see cref="MongoUnreadTotals"/>). Shard key <c>{ _id: "hashed" }</c>.</item>
/// </list>
/// Nothing here expires, so there are no TTL indexes. Ids compare by bytes (MongoDB's simple collation).
/// </summary>
internal static class MongoChatCollections
{
    public const string Messages = "messages";
    public const string Heads = "conversations";
    public const string UserConversations = "user_conversations";

    private const int NamespaceExists = 48;

    // Acknowledged by a majority and journaled: a PUBACK survives the loss of the primary.
    public static readonly WriteConcern Durable = WriteConcern.WMajority.With(journal: true);

    public static readonly TransactionOptions AppendTransaction = new(ReadConcern.Snapshot, writeConcern: Durable);

    public static IMongoCollection<BsonDocument> Collection(this MongoDatabaseHandle handle, string name) =>
        handle.Database.GetCollection<BsonDocument>(name).WithWriteConcern(Durable);

    public static Task EnsureAsync(MongoDatabaseHandle handle, CancellationToken cancellationToken) =>
        handle.EnsureOnceAsync("im-chat-v1", async database =>
        {
            // Created up front: appends write them inside transactions, where creating a collection is not always allowed.
            foreach (var name in new[] { Messages, Heads, UserConversations })
            {
                try
                {
                    await database.CreateCollectionAsync(name).ConfigureAwait(false);
                }
                catch (MongoCommandException ex) when (ex.Code == NamespaceExists)
                {
                }
            }

            var keys = Builders<BsonDocument>.IndexKeys;
            await database.GetCollection<BsonDocument>(Messages).Indexes.CreateManyAsync(
            [
                new CreateIndexModel<BsonDocument>(keys.Ascending("conversation_id").Ascending("seq"),
                    new CreateIndexOptions { Name = "ux_conversation_seq", Unique = true }),
                new CreateIndexModel<BsonDocument>(keys.Ascending("conversation_id").Ascending("sender_id").Ascending("client_msg_id"),
                    new CreateIndexOptions<BsonDocument>
                    {
                        Name = "ux_conversation_client_msg",
                        Unique = true,
                        PartialFilterExpression = Builders<BsonDocument>.Filter.Gt("client_msg_id", ""),
                    }),
            ]).ConfigureAwait(false);
            await database.GetCollection<BsonDocument>(UserConversations).Indexes.CreateManyAsync(
            [
                new CreateIndexModel<BsonDocument>(keys.Ascending("user_id").Ascending("conversation_id"),
                    new CreateIndexOptions { Name = "ux_user_conversation", Unique = true }),
                new CreateIndexModel<BsonDocument>(keys.Ascending("conversation_id").Ascending("user_id"),
                    new CreateIndexOptions { Name = "ix_conversation_user" }),
            ]).ConfigureAwait(false);
            await MongoUnreadTotals.EnsureAsync(database).ConfigureAwait(false);
        }, cancellationToken);

    public static bool IsDuplicateKey(Exception exception) => exception switch
    {
        MongoWriteException write => write.WriteError?.Category == ServerErrorCategory.DuplicateKey,
        MongoBulkWriteException bulk => bulk.WriteErrors.Any(e => e.Category == ServerErrorCategory.DuplicateKey),
        MongoCommandException command => command.Code == 11000,
        _ => false,
    };
}
