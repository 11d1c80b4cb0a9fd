using MongoDB.Bson;
using MongoDB.Driver;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>
/// Each user's total unread (<c>user_unread</c>: <c>_id</c> = user id, <c>total</c>), kept in the same transaction as every
/// change that moves an unread count: the sum of <c>max(0, max_seq − max(read_seq, joined_seq − 1))</c> over the user's
/// <c>user_conversations</c> rows. Every writer applies its exact delta (row inserted: + its unread, removed: − it,
/// changed: after − before, head moved: each member's difference).
/// </summary>
/// <remarks>
/// Transactions run at snapshot isolation, so two writers conflict (and the driver retries one) only when they write the
/// same document. Appends write the head; joins and leaves write the head too (a version field) so that a member added
/// while a message is appended is never missed by either; read marks write the member's row and total, and a read mark
/// capped at the head it saw commutes with a concurrent append (both deltas are linear there).
/// </remarks>
internal static class MongoUnreadTotals
{
    public const string Collection = "user_unread";

    public static long Unread(long maxSeq, long readSeq, long joinedSeq) => Math.Max(0, maxSeq - Math.Max(readSeq, joinedSeq - 1));

    /// <summary>Adds the deltas to the users' totals (one upserting <c>$inc</c> each, in user order); zero deltas write nothing.</summary>
    public static async Task ApplyAsync(IClientSessionHandle session, IMongoCollection<BsonDocument> totals, IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken)
    {
        var updates = deltas
            .Where(d => d.Value != 0)
            .OrderBy(d => d.Key, StringComparer.Ordinal)
            .Select(d => (WriteModel<BsonDocument>)new UpdateOneModel<BsonDocument>(
                new BsonDocument("_id", d.Key), new BsonDocument("$inc", new BsonDocument("total", d.Value))) { IsUpsert = true })
            .ToList();
        if (updates.Count > 0)
        {
            await totals.BulkWriteAsync(session, updates, new BulkWriteOptions { IsOrdered = true }, cancellationToken).ConfigureAwait(false);
        }
    }

    public static void Add(Dictionary<string, long> deltas, string userId, long delta)
    {
        if (delta != 0)
        {
            deltas[userId] = deltas.GetValueOrDefault(userId) + delta;
        }
    }

    /// <summary>The heads' max seq (0 for a conversation without one), read in the transaction.</summary>
    public static async Task<Dictionary<string, long>> MaxSeqsAsync(
        IClientSessionHandle session, IMongoCollection<BsonDocument> heads, IEnumerable<string> conversationIds, CancellationToken cancellationToken)
    {
        var ids = conversationIds.Distinct(StringComparer.Ordinal).ToList();
        var found = await heads.Find(session, new BsonDocument("_id", new BsonDocument("$in", new BsonArray(ids))))
            .Project(new BsonDocument("max_seq", 1))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var maxSeqs = ids.ToDictionary(id => id, _ => 0L, StringComparer.Ordinal);
        foreach (var head in found)
        {
            maxSeqs[head["_id"].AsString] = head.GetValue("max_seq", 0L).ToInt64();
        }

        return maxSeqs;
    }

    /// <summary>
    /// Writes the conversation's head (a membership version), so a join or leave conflicts with a concurrent append of
    /// the same conversation instead of missing it.
    /// </summary>
    public static Task TouchHeadAsync(IClientSessionHandle session, IMongoCollection<BsonDocument> heads, string conversationId, CancellationToken cancellationToken) =>
        heads.UpdateOneAsync(session, new BsonDocument("_id", conversationId), new BsonDocument("$inc", new BsonDocument("members_version", 1L)),
            new UpdateOptions { IsUpsert = true }, cancellationToken);

    /// <summary>Creates the collection; when it is new (a database from before it), fills it once from the rows.</summary>
    public static async Task EnsureAsync(IMongoDatabase database)
    {
        try
        {
            await database.CreateCollectionAsync(Collection).ConfigureAwait(false);
        }
        catch (MongoCommandException ex) when (ex.Code == 48) // NamespaceExists: created (and filled) before
        {
            return;
        }

        var unread = new BsonDocument("$max", new BsonArray
        {
            0L,
            new BsonDocument("$subtract", new BsonArray
            {
                new BsonDocument("$ifNull", new BsonArray { new BsonDocument("$first", "$head.max_seq"), 0L }),
                new BsonDocument("$max", new BsonArray { "$read_seq", new BsonDocument("$subtract", new BsonArray { "$joined_seq", 1L }) }),
            }),
        });
        var pipeline = new BsonDocument[]
        {
            new("$lookup", new BsonDocument
            {
                ["from"] = MongoChatCollections.Heads,
                ["localField"] = "conversation_id",
                ["foreignField"] = "_id",
                ["pipeline"] = new BsonArray { new BsonDocument("$project", new BsonDocument("max_seq", 1)) },
                ["as"] = "head",
            }),
            new("$group", new BsonDocument { ["_id"] = "$user_id", ["total"] = new BsonDocument("$sum", unread) }),
            new("$merge", new BsonDocument { ["into"] = Collection, ["whenMatched"] = "replace", ["whenNotMatched"] = "insert" }),
        };
        using var cursor = await database.GetCollection<BsonDocument>(MongoChatCollections.UserConversations)
            .AggregateAsync<BsonDocument>(pipeline).ConfigureAwait(false);
        await cursor.ToListAsync().ConfigureAwait(false);
    }
}
