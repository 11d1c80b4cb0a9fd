using Google.Protobuf;
using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>
/// Messages in the shared MongoDB database (a replica set or sharded cluster: appends are transactions). A batch is one
/// transaction: the resends already stored are found first and skipped, the rest inserted in one <c>insertMany</c>,
/// the heads moved with one bulk write and the 1:1/notification participants upserted with another.
/// </summary>
/// <remarks>
/// A resend racing with its original on another node makes one of the two transactions fail on the unique dedup index
/// (or conflict and be retried by the driver); the append then runs again and finds the original.
/// </remarks>
internal sealed class MongoMessageStore(MongoDatabaseHandle handle) : IMessageStore
{
    private const int MaxAttempts = 3;

    // Used inside the append transaction only, which carries the durable write concern itself (operations in a
    // transaction may not set their own).
    private readonly IMongoCollection<BsonDocument> _messages = handle.Database.GetCollection<BsonDocument>(MongoChatCollections.Messages);
    private readonly IMongoCollection<BsonDocument> _heads = handle.Database.GetCollection<BsonDocument>(MongoChatCollections.Heads);
    private readonly IMongoCollection<BsonDocument> _userConversations = handle.Database.GetCollection<BsonDocument>(MongoChatCollections.UserConversations);
    private readonly IMongoCollection<BsonDocument> _unread = handle.Database.GetCollection<BsonDocument>(MongoUnreadTotals.Collection);

    public async Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return AppendResult.AllStored;
        }

        await MongoChatCollections.EnsureAsync(handle, cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            using var session = await handle.Client.StartSessionAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                return await session.WithTransactionAsync(
                    (s, ct) => AppendInTransactionAsync(s, batch, ct), MongoChatCollections.AppendTransaction, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < MaxAttempts && MongoChatCollections.IsDuplicateKey(ex))
            {
                // Another node stored one of these client message ids after our check: look again (a taken seq fails again and is thrown).
            }
        }
    }

    private async Task<AppendResult> AppendInTransactionAsync(IClientSessionHandle session, IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        var keyed = batch.Where(m => m.ClientMsgId.Length > 0).Select(ClientMsgKey.Of).ToList();
        var duplicates = keyed.Count == 0
            ? new Dictionary<ClientMsgKey, ChatMessage>()
            : await FindAsync(session, keyed, cancellationToken).ConfigureAwait(false);
        var fresh = batch.Where(m => m.ClientMsgId.Length == 0 || !duplicates.ContainsKey(ClientMsgKey.Of(m))).ToList();
        if (fresh.Count == 0)
        {
            return new AppendResult(duplicates);
        }

        await _messages.InsertManyAsync(session, fresh.Select(ToDocument), new InsertManyOptions { IsOrdered = true }, cancellationToken).ConfigureAwait(false);

        // Each head moves to the highest new seq only if it is higher (another node may have moved it further already).
        var heads = new Dictionary<string, ChatMessage>(StringComparer.Ordinal);
        var participants = new HashSet<(string UserId, string ConversationId)>();
        foreach (var message in fresh)
        {
            if (!heads.TryGetValue(message.ConversationId, out var head) || head.Seq < message.Seq)
            {
                heads[message.ConversationId] = message;
            }

            if (message.ConversationId.StartsWith("c2c:", StringComparison.Ordinal))
            {
                participants.Add((message.SenderId, message.ConversationId));
            }

            if (message.RecipientId.Length > 0)
            {
                participants.Add((message.RecipientId, message.ConversationId));
            }
        }

        // The members' unread totals move with the heads (MongoUnreadTotals): the old heads and the members from before
        // this batch's participants, read in the transaction.
        var maxSeqs = await MongoUnreadTotals.MaxSeqsAsync(session, _heads, heads.Keys, cancellationToken).ConfigureAwait(false);
        await _heads.BulkWriteAsync(session, heads.Values.OrderBy(m => m.ConversationId, StringComparer.Ordinal).Select(HeadUpdate),
            new BulkWriteOptions { IsOrdered = true }, cancellationToken).ConfigureAwait(false);
        var deltas = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var head in heads.Values.Where(m => m.Seq > maxSeqs[m.ConversationId]))
        {
            var members = await _userConversations.Find(session, new BsonDocument("conversation_id", head.ConversationId))
                .Project(new BsonDocument { ["user_id"] = 1, ["read_seq"] = 1, ["joined_seq"] = 1 })
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var member in members)
            {
                var (read, joined) = (member["read_seq"].ToInt64(), member["joined_seq"].ToInt64());
                MongoUnreadTotals.Add(deltas, member["user_id"].AsString,
                    MongoUnreadTotals.Unread(head.Seq, read, joined) - MongoUnreadTotals.Unread(maxSeqs[head.ConversationId], read, joined));
            }

            maxSeqs[head.ConversationId] = head.Seq;
        }

        if (participants.Count > 0)
        {
            var ordered = participants.Order().ToList();
            var upserts = await _userConversations.BulkWriteAsync(session, ordered.Select(p => (WriteModel<BsonDocument>)new UpdateOneModel<BsonDocument>(
                    new BsonDocument { ["user_id"] = p.UserId, ["conversation_id"] = p.ConversationId },
                    new BsonDocument("$setOnInsert", new BsonDocument { ["read_seq"] = 0L, ["joined_seq"] = 1L, ["pinned"] = false, ["muted"] = false }))
                { IsUpsert = true }),
                new BulkWriteOptions { IsOrdered = true }, cancellationToken).ConfigureAwait(false);
            foreach (var upsert in upserts.Upserts)
            {
                // A new row (read 0, joined 1): all of its conversation's messages are unread.
                var (userId, conversationId) = ordered[upsert.Index];
                MongoUnreadTotals.Add(deltas, userId, maxSeqs.GetValueOrDefault(conversationId));
            }
        }

        await MongoUnreadTotals.ApplyAsync(session, _unread, deltas, cancellationToken).ConfigureAwait(false);

        return duplicates.Count == 0 ? AppendResult.AllStored : new AppendResult(duplicates);
    }

    private static WriteModel<BsonDocument> HeadUpdate(ChatMessage message)
    {
        // One pipeline stage: every "$max_seq" below is the stored value before this update.
        var isNewer = new BsonDocument("$gt", new BsonArray { message.Seq, new BsonDocument("$ifNull", new BsonArray { "$max_seq", 0L }) });
        var set = new BsonDocument
        {
            ["max_seq"] = new BsonDocument("$max", new BsonArray { new BsonDocument("$ifNull", new BsonArray { "$max_seq", 0L }), message.Seq }),
            ["last_activity_ms"] = new BsonDocument("$cond", new BsonArray { isNewer, message.ServerTimeMs, "$last_activity_ms" }),
            ["last_message"] = new BsonDocument("$cond", new BsonArray { isNewer, new BsonBinaryData(message.ToByteArray()), "$last_message" }),
        };
        return new UpdateOneModel<BsonDocument>(
            new BsonDocument("_id", message.ConversationId),
            new PipelineUpdateDefinition<BsonDocument>(new BsonDocument[] { new("$set", set) }))
        { IsUpsert = true };
    }

    public async Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken)
    {
        var head = await _heads.Find(new BsonDocument("_id", conversationId)).Project(new BsonDocument("max_seq", 1))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return head?.GetValue("max_seq", 0L).ToInt64() ?? 0;
    }

    public async Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(
        IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken)
    {
        var keyed = keys.Where(k => k.ClientMsgId.Length > 0).ToList();
        return keyed.Count == 0
            ? new Dictionary<ClientMsgKey, ChatMessage>()
            : await FindAsync(null, keyed, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Dictionary<ClientMsgKey, ChatMessage>> FindAsync(IClientSessionHandle? session, List<ClientMsgKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ClientMsgKey, ChatMessage>();
        // One clause per (conversation, sender), each with its ids: every clause is one range of the dedup index.
        var clauses = keys.GroupBy(k => (k.ConversationId, k.SenderId)).Select(g => new BsonDocument
        {
            ["conversation_id"] = g.Key.ConversationId,
            ["sender_id"] = g.Key.SenderId,
            ["client_msg_id"] = new BsonDocument("$in", new BsonArray(g.Select(k => k.ClientMsgId).Distinct())),
        }).ToList();
        foreach (var chunk in clauses.Chunk(500))
        {
            var filter = new BsonDocument("$or", new BsonArray(chunk));
            var projection = new BsonDocument("body", 1);
            using var cursor = session is null
                ? await _messages.Find(filter).Project(projection).ToCursorAsync(cancellationToken).ConfigureAwait(false)
                : await _messages.Find(session, filter).Project(projection).ToCursorAsync(cancellationToken).ConfigureAwait(false);
            while (await cursor.MoveNextAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var document in cursor.Current)
                {
                    var message = ChatMessage.Parser.ParseFrom(document["body"].AsBsonBinaryData.Bytes);
                    found[ClientMsgKey.Of(message)] = message;
                }
            }
        }

        return found;
    }

    public Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync(conversationId, new BsonDocument("$gt", afterSeq), ascending: true, limit, cancellationToken);

    public Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync(conversationId, new BsonDocument("$lt", beforeSeq), ascending: false, limit, cancellationToken);

    public async Task<ChatMessage?> GetAsync(string conversationId, long seq, CancellationToken cancellationToken)
    {
        var one = await ReadAsync(conversationId, seq, ascending: true, 1, cancellationToken).ConfigureAwait(false);
        return one.Count == 1 ? one[0] : null;
    }

    private async Task<IReadOnlyList<ChatMessage>> ReadAsync(string conversationId, BsonValue seqCondition, bool ascending, int limit, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>();
        if (limit <= 0)
        {
            return messages;
        }

        var documents = await _messages.Find(new BsonDocument { ["conversation_id"] = conversationId, ["seq"] = seqCondition })
            .Sort(new BsonDocument("seq", ascending ? 1 : -1))
            .Limit(limit)
            .Project(new BsonDocument("body", 1))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var document in documents)
        {
            messages.Add(ChatMessage.Parser.ParseFrom(document["body"].AsBsonBinaryData.Bytes));
        }

        if (!ascending)
        {
            messages.Reverse();
        }

        return messages;
    }

    private static BsonDocument ToDocument(ChatMessage message) => new()
    {
        ["_id"] = $"{message.ConversationId}#{message.Seq}",
        ["conversation_id"] = message.ConversationId,
        ["seq"] = message.Seq,
        ["sender_id"] = message.SenderId,
        ["client_msg_id"] = message.ClientMsgId,
        ["body"] = new BsonBinaryData(message.ToByteArray()),
    };
}
