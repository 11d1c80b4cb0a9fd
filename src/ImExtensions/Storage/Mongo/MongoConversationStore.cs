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
    private readonly IMongoCollection<BsonDocument> _userConversations = handle.Collection(MongoChatCollections.UserConversations);

    // Used inside transactions only, which carry the durable write concern themselves.
    private readonly IMongoCollection<BsonDocument> _txHeads = handle.Database.GetCollection<BsonDocument>(MongoChatCollections.Heads);
    private readonly IMongoCollection<BsonDocument> _txUserConversations = handle.Database.GetCollection<BsonDocument>(MongoChatCollections.UserConversations);
    private readonly IMongoCollection<BsonDocument> _txUnread = handle.Database.GetCollection<BsonDocument>(MongoUnreadTotals.Collection);

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
        // The total is kept per user (MongoUnreadTotals): one document.
        using var session = await handle.Client.StartSessionAsync(new ClientSessionOptions { Snapshot = true }, cancellationToken).ConfigureAwait(false);
        var kept = await _txUnread.Find(session, new BsonDocument("_id", userId)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        var total = kept?["total"].ToInt64() ?? 0;
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
        var users = userIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        await InTransactionAsync(async (session, ct) =>
        {
            await MongoUnreadTotals.TouchHeadAsync(session, _txHeads, conversationId, ct).ConfigureAwait(false);
            var maxSeq = (await MongoUnreadTotals.MaxSeqsAsync(session, _txHeads, [conversationId], ct).ConfigureAwait(false))[conversationId];
            var before = await RowsAsync(session, conversationId, users, ct).ConfigureAwait(false);
            var updates = users.Select(userId => (WriteModel<BsonDocument>)new UpdateOneModel<BsonDocument>(
                Key(userId, conversationId),
                new BsonDocument
                {
                    ["$set"] = new BsonDocument("joined_seq", joinedSeq),
                    ["$max"] = new BsonDocument("read_seq", joinedSeq - 1),
                    ["$setOnInsert"] = new BsonDocument { ["pinned"] = false, ["muted"] = false },
                })
            { IsUpsert = true });
            await _txUserConversations.BulkWriteAsync(session, updates, new BulkWriteOptions { IsOrdered = true }, ct).ConfigureAwait(false);
            var deltas = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var userId in users)
            {
                var old = before.GetValueOrDefault(userId);
                var after = MongoUnreadTotals.Unread(maxSeq, old.ReadSeq is { } kept ? Math.Max(kept, joinedSeq - 1) : joinedSeq - 1, joinedSeq);
                MongoUnreadTotals.Add(deltas, userId, after - (old.ReadSeq is { } read ? MongoUnreadTotals.Unread(maxSeq, read, old.JoinedSeq) : 0));
            }

            await MongoUnreadTotals.ApplyAsync(session, _txUnread, deltas, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        if (userIds.Count == 0)
        {
            return;
        }

        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var users = userIds.Distinct(StringComparer.Ordinal).ToList();
        await InTransactionAsync(async (session, ct) =>
        {
            await MongoUnreadTotals.TouchHeadAsync(session, _txHeads, conversationId, ct).ConfigureAwait(false);
            var maxSeq = (await MongoUnreadTotals.MaxSeqsAsync(session, _txHeads, [conversationId], ct).ConfigureAwait(false))[conversationId];
            var before = await RowsAsync(session, conversationId, users, ct).ConfigureAwait(false);
            await _txUserConversations.DeleteManyAsync(session,
                new BsonDocument { ["conversation_id"] = conversationId, ["user_id"] = new BsonDocument("$in", new BsonArray(users)) },
                cancellationToken: ct).ConfigureAwait(false);
            var deltas = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (userId, row) in before)
            {
                MongoUnreadTotals.Add(deltas, userId, -MongoUnreadTotals.Unread(maxSeq, row.ReadSeq ?? 0, row.JoinedSeq));
            }

            await MongoUnreadTotals.ApplyAsync(session, _txUnread, deltas, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<long?> MarkReadAsync(string userId, string conversationId, long seq, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        return await InTransactionAsync<long?>(async (session, ct) =>
        {
            // Capped at the head this transaction sees, so the delta commutes with a concurrent append (MongoUnreadTotals).
            var maxSeq = (await MongoUnreadTotals.MaxSeqsAsync(session, _txHeads, [conversationId], ct).ConfigureAwait(false))[conversationId];
            var before = await _txUserConversations.FindOneAndUpdateAsync(session,
                Key(userId, conversationId),
                new BsonDocument("$max", new BsonDocument("read_seq", Math.Min(seq, maxSeq))),
                new FindOneAndUpdateOptions<BsonDocument> { ReturnDocument = ReturnDocument.Before },
                ct).ConfigureAwait(false);
            if (before is null)
            {
                return null;
            }

            var (oldRead, joined) = (before["read_seq"].ToInt64(), before["joined_seq"].ToInt64());
            var newRead = Math.Max(oldRead, Math.Min(seq, maxSeq));
            var deltas = new Dictionary<string, long>(StringComparer.Ordinal);
            MongoUnreadTotals.Add(deltas, userId, MongoUnreadTotals.Unread(maxSeq, newRead, joined) - MongoUnreadTotals.Unread(maxSeq, oldRead, joined));
            await MongoUnreadTotals.ApplyAsync(session, _txUnread, deltas, ct).ConfigureAwait(false);
            return newRead;
        }, cancellationToken).ConfigureAwait(false);
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

    private async Task<T> InTransactionAsync<T>(Func<IClientSessionHandle, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        using var session = await handle.Client.StartSessionAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return await session.WithTransactionAsync(work, MongoChatCollections.AppendTransaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The given users' rows of a conversation (read and joined seq), read in the transaction.</summary>
    private async Task<Dictionary<string, (long? ReadSeq, long JoinedSeq)>> RowsAsync(
        IClientSessionHandle session, string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        var rows = await _txUserConversations.Find(session,
                new BsonDocument { ["conversation_id"] = conversationId, ["user_id"] = new BsonDocument("$in", new BsonArray(userIds)) })
            .Project(new BsonDocument { ["user_id"] = 1, ["read_seq"] = 1, ["joined_seq"] = 1 })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(
            r => r["user_id"].AsString,
            r => ((long?)r.GetValue("read_seq", 0L).ToInt64(), r.GetValue("joined_seq", 1L).ToInt64()),
            StringComparer.Ordinal);
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
