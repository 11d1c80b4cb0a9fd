using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>
/// Per-user conversation state in the shared MongoDB database: <c>user_conversations</c> rows joined to the
/// <c>conversations</c> heads (<c>$lookup</c> by <c>_id</c>) for listing and unread totals.
/// </summary>
internal sealed class MongoConversationStore(MongoDatabaseHandle handle) : IConversationStore
{
    private readonly IMongoCollection<BsonDocument> _heads = handle.Collection(MongoChatCollections.Heads);
    private readonly IMongoCollection<BsonDocument> _userConversations = handle.Collection(MongoChatCollections.UserConversations);

    public async Task<IReadOnlyList<ConversationState>> GetAllAsync(string userId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        return await AggregateStatesAsync(null, Match(userId), [new BsonDocument("$sort", new BsonDocument("conversation_id", 1))], withLastMessage: false, cancellationToken)
            .ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ConversationState>> GetPageAsync(string userId, string? afterConversationId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var match = new BsonDocument("$match", new BsonDocument
        {
            ["user_id"] = userId,
            ["conversation_id"] = new BsonDocument("$gt", afterConversationId ?? ""),
        });
        BsonDocument[] page = [new("$sort", new BsonDocument("conversation_id", 1)), new("$limit", limit)];
        return await AggregateStatesAsync(null, match, [], withLastMessage: false, cancellationToken, beforeLookup: page).ConfigureAwait(false);
    }

    public async Task<ConversationState?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        return (await AggregateStatesAsync(null, Match(userId, conversationId), [], withLastMessage: false, cancellationToken).ConfigureAwait(false))
            .SingleOrDefault();
    }

    public async Task<ConversationPage> ListAsync(string userId, ConversationListCursor? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var stages = new List<BsonDocument>();
        if (after is not null)
        {
            // Keyset: strictly after the cursor in (pinned desc, activity desc, conversation id desc).
            stages.Add(new BsonDocument("$match", new BsonDocument("$or", new BsonArray
            {
                new BsonDocument("pinned", new BsonDocument("$lt", after.Pinned)),
                new BsonDocument { ["pinned"] = after.Pinned, ["last_activity_ms"] = new BsonDocument("$lt", after.LastActivityMs) },
                new BsonDocument
                {
                    ["pinned"] = after.Pinned,
                    ["last_activity_ms"] = after.LastActivityMs,
                    ["conversation_id"] = new BsonDocument("$lt", after.ConversationId),
                },
            })));
        }

        stages.Add(new BsonDocument("$sort", new BsonDocument { ["pinned"] = -1, ["last_activity_ms"] = -1, ["conversation_id"] = -1 }));
        stages.Add(new BsonDocument("$limit", limit + 1));
        var rows = await AggregateStatesAsync(null, Match(userId), stages, withLastMessage: true, cancellationToken).ConfigureAwait(false);
        return rows.Count > limit
            ? new ConversationPage(rows.GetRange(0, limit), ConversationListCursor.After(rows[limit - 1]))
            : new ConversationPage(rows, null);
    }

    public async Task<UnreadSummary> GetUnreadAsync(string userId, string? conversationId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        // A snapshot session: the total and the conversation are read at the same point in time.
        using var session = await handle.Client.StartSessionAsync(new ClientSessionOptions { Snapshot = true }, cancellationToken).ConfigureAwait(false);
        var unread = new BsonDocument("$max", new BsonArray
        {
            0L,
            new BsonDocument("$subtract", new BsonArray
            {
                "$max_seq",
                new BsonDocument("$max", new BsonArray { "$read_seq", new BsonDocument("$subtract", new BsonArray { "$joined_seq", 1L }) }),
            }),
        });
        var totals = await AggregateAsync(session, Match(userId),
            [new BsonDocument("$group", new BsonDocument { ["_id"] = BsonNull.Value, ["total"] = new BsonDocument("$sum", unread) })], cancellationToken)
            .ConfigureAwait(false);
        var total = totals.Count == 0 ? 0 : totals[0]["total"].ToInt64();
        var state = conversationId is null
            ? null
            : (await AggregateStatesAsync(session, Match(userId, conversationId), [], withLastMessage: false, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
        return new UnreadSummary(total, state);
    }

    public async Task<bool> ShareConversationAsync(string userId, string otherUserId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        // For each of the user's rows, the other user's row in the same conversation (index (conversation_id, user_id)); stop at the first.
        var stages = new BsonDocument[]
        {
            new("$match", new BsonDocument("user_id", userId)),
            new("$project", new BsonDocument("conversation_id", 1)),
            new("$lookup", new BsonDocument
            {
                ["from"] = MongoChatCollections.UserConversations,
                ["localField"] = "conversation_id",
                ["foreignField"] = "conversation_id",
                ["pipeline"] = new BsonArray { new BsonDocument("$match", new BsonDocument("user_id", otherUserId)), new BsonDocument("$limit", 1) },
                ["as"] = "other",
            }),
            new("$match", new BsonDocument("other.0", new BsonDocument("$exists", true))),
            new("$limit", 1),
        };
        using var found = await _userConversations.AggregateAsync<BsonDocument>(stages, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await found.AnyAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task AddParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, long joinedSeq, CancellationToken cancellationToken)
    {
        if (userIds.Count == 0)
        {
            return;
        }

        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var updates = userIds.Distinct(StringComparer.Ordinal).Select(userId => (WriteModel<BsonDocument>)new UpdateOneModel<BsonDocument>(
            Key(userId, conversationId),
            new BsonDocument
            {
                ["$set"] = new BsonDocument("joined_seq", joinedSeq),
                ["$max"] = new BsonDocument("read_seq", joinedSeq - 1),
                ["$setOnInsert"] = new BsonDocument { ["pinned"] = false, ["muted"] = false },
            })
        { IsUpsert = true });
        await _userConversations.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        if (userIds.Count == 0)
        {
            return;
        }

        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        await _userConversations.DeleteManyAsync(
            new BsonDocument { ["conversation_id"] = conversationId, ["user_id"] = new BsonDocument("$in", new BsonArray(userIds)) },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<long?> MarkReadAsync(string userId, string conversationId, long seq, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var head = await _heads.Find(new BsonDocument("_id", conversationId)).Project(new BsonDocument("max_seq", 1))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        var capped = Math.Min(seq, head?.GetValue("max_seq", 0L).ToInt64() ?? 0);
        var row = await _userConversations.FindOneAndUpdateAsync(
            Key(userId, conversationId),
            new BsonDocument("$max", new BsonDocument("read_seq", capped)),
            new FindOneAndUpdateOptions<BsonDocument> { ReturnDocument = ReturnDocument.After },
            cancellationToken).ConfigureAwait(false);
        return row?["read_seq"].ToInt64();
    }

    public async Task<bool> SetFlagsAsync(string userId, string conversationId, bool? pinned, bool? muted, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var set = new BsonDocument();
        if (pinned is { } pin)
        {
            set["pinned"] = pin;
        }

        if (muted is { } mute)
        {
            set["muted"] = mute;
        }

        if (set.ElementCount == 0)
        {
            return await _userConversations.CountDocumentsAsync(Key(userId, conversationId), cancellationToken: cancellationToken).ConfigureAwait(false) == 1;
        }

        var result = await _userConversations.UpdateOneAsync(Key(userId, conversationId), new BsonDocument("$set", set), cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return result.MatchedCount == 1;
    }

    public async Task<IReadOnlyDictionary<string, long>> GetReadPositionsAsync(string conversationId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var rows = await _userConversations.Find(new BsonDocument("conversation_id", conversationId))
            .Project(new BsonDocument { ["user_id"] = 1, ["read_seq"] = 1 })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(r => r["user_id"].AsString, r => r["read_seq"].ToInt64(), StringComparer.Ordinal);
    }

    private static BsonDocument Key(string userId, string conversationId) => new() { ["user_id"] = userId, ["conversation_id"] = conversationId };

    private static BsonDocument Match(string userId, string? conversationId = null) =>
        new("$match", conversationId is null ? new BsonDocument("user_id", userId) : Key(userId, conversationId));

    /// <summary>The user's rows matched by <paramref name="match"/>, joined to their heads, then <paramref name="stages"/>.</summary>
    private async Task<List<ConversationState>> AggregateStatesAsync(
        IClientSessionHandle? session, BsonDocument match, IReadOnlyList<BsonDocument> stages, bool withLastMessage, CancellationToken cancellationToken,
        IReadOnlyList<BsonDocument>? beforeLookup = null)
    {
        var documents = await AggregateAsync(session, match, stages, cancellationToken, withLastMessage, beforeLookup).ConfigureAwait(false);
        return documents.ConvertAll(d => new ConversationState(
            d["conversation_id"].AsString,
            d["max_seq"].ToInt64(),
            d["read_seq"].ToInt64(),
            d["joined_seq"].ToInt64(),
            d["pinned"].ToBoolean(),
            d["muted"].ToBoolean(),
            d["last_activity_ms"].ToInt64(),
            withLastMessage && d.TryGetValue("last_message", out var last) && last.IsBsonBinaryData
                ? ChatMessage.Parser.ParseFrom(last.AsBsonBinaryData.Bytes)
                : null));
    }

    private async Task<List<BsonDocument>> AggregateAsync(
        IClientSessionHandle? session, BsonDocument match, IReadOnlyList<BsonDocument> stages, CancellationToken cancellationToken, bool withLastMessage = false,
        IReadOnlyList<BsonDocument>? beforeLookup = null)
    {
        var headFields = new BsonDocument { ["max_seq"] = 1, ["last_activity_ms"] = 1 };
        if (withLastMessage)
        {
            headFields["last_message"] = 1;
        }

        var pipeline = new List<BsonDocument> { match };
        pipeline.AddRange(beforeLookup ?? []); // a page is cut before the join, so only its rows are joined
        pipeline.AddRange(new List<BsonDocument>
        {
            new("$lookup", new BsonDocument
            {
                ["from"] = MongoChatCollections.Heads,
                ["localField"] = "conversation_id",
                ["foreignField"] = "_id",
                ["pipeline"] = new BsonArray { new BsonDocument("$project", headFields) },
                ["as"] = "head",
            }),
            new("$set", new BsonDocument
            {
                ["max_seq"] = new BsonDocument("$ifNull", new BsonArray { new BsonDocument("$first", "$head.max_seq"), 0L }),
                ["last_activity_ms"] = new BsonDocument("$ifNull", new BsonArray { new BsonDocument("$first", "$head.last_activity_ms"), 0L }),
                ["last_message"] = new BsonDocument("$first", "$head.last_message"),
            }),
            new("$unset", "head"),
        });
        pipeline.AddRange(stages);
        using var cursor = session is null
            ? await _userConversations.AggregateAsync<BsonDocument>(pipeline, cancellationToken: cancellationToken).ConfigureAwait(false)
            : await _userConversations.AggregateAsync<BsonDocument>(session, pipeline, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await cursor.ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task EnsureAsync(CancellationToken cancellationToken) => MongoChatCollections.EnsureAsync(handle, cancellationToken);
}
