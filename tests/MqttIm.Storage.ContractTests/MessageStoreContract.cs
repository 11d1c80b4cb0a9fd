using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Storage.ContractTests;

/// <summary>What every <see cref="IMessageStore"/> must do. A backend subclasses this and supplies fresh stores.</summary>
public abstract class MessageStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    protected IMessageStore Store { get; private set; } = null!;

    /// <summary>A new, empty store; <paramref name="reopenOf"/> asks for a second instance over the same data (a restart).</summary>
    protected abstract Task<IMessageStore> CreateStoreAsync(IMessageStore? reopenOf = null);

    protected abstract Task DisposeStoreAsync(IMessageStore store);

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public Task DisposeAsync() => DisposeStoreAsync(Store);

    internal static ChatMessage Message(string conversationId, long seq, string sender = "alice", string recipient = "bob", string clientMsgId = "") => new()
    {
        ConversationId = conversationId,
        Seq = seq,
        ServerMsgId = Guid.NewGuid().ToString("N"),
        ClientMsgId = clientMsgId,
        SenderId = sender,
        RecipientId = recipient,
        ServerTimeMs = 1_700_000_000_000 + seq,
        Text = $"message {seq}",
        ContentType = "text",
    };

    internal static ClientMsgKey Key(string sender, string clientMsgId, string conversationId = "c2c:alice:bob") => new(conversationId, sender, clientMsgId);

    [Fact]
    public async Task GetMaxSeq_EmptyConversation_IsZero()
    {
        Assert.Equal(0, await Store.GetMaxSeqAsync("c2c:alice:bob", _ct));
    }

    [Fact]
    public async Task Append_ThenRead_ReturnsMessagesInSeqOrderWithAllFields()
    {
        var batch = Enumerable.Range(1, 5).Select(i => Message("c2c:alice:bob", i)).ToList();
        batch[2].Ext.Add("k", "v");
        batch[3].Data = Google.Protobuf.ByteString.CopyFrom(1, 2, 3);
        await Store.AppendAsync(batch, _ct);

        Assert.Equal(5, await Store.GetMaxSeqAsync("c2c:alice:bob", _ct));
        var read = await Store.ReadAfterAsync("c2c:alice:bob", 0, 100, _ct);
        Assert.Equal(batch, read);
    }

    [Fact]
    public async Task ReadAfter_PagesByCursorAndLimit()
    {
        await Store.AppendAsync(Enumerable.Range(1, 10).Select(i => Message("c2c:alice:bob", i)).ToList(), _ct);

        var page = await Store.ReadAfterAsync("c2c:alice:bob", 3, 4, _ct);

        Assert.Equal([4L, 5, 6, 7], page.Select(m => m.Seq));
        Assert.Empty(await Store.ReadAfterAsync("c2c:alice:bob", 10, 4, _ct));
    }

    [Fact]
    public async Task ReadBefore_ReturnsNewestPageBeforeSeq_Ascending()
    {
        await Store.AppendAsync(Enumerable.Range(1, 10).Select(i => Message("c2c:alice:bob", i)).ToList(), _ct);

        Assert.Equal([7L, 8, 9], (await Store.ReadBeforeAsync("c2c:alice:bob", 10, 3, _ct)).Select(m => m.Seq));
        Assert.Equal([1L, 2], (await Store.ReadBeforeAsync("c2c:alice:bob", 3, 5, _ct)).Select(m => m.Seq));
        Assert.Equal([9L, 10], (await Store.ReadBeforeAsync("c2c:alice:bob", long.MaxValue, 2, _ct)).Select(m => m.Seq));
    }

    [Fact]
    public async Task Conversations_AreKeptApart()
    {
        await Store.AppendAsync([Message("c2c:alice:bob", 1), Message("c2c:alice:carol", 1, recipient: "carol"), Message("c2c:alice:bob", 2)], _ct);

        Assert.Equal(2, await Store.GetMaxSeqAsync("c2c:alice:bob", _ct));
        Assert.Equal(1, await Store.GetMaxSeqAsync("c2c:alice:carol", _ct));
        Assert.Single(await Store.ReadAfterAsync("c2c:alice:carol", 0, 10, _ct));
    }

    [Fact]
    public async Task Get_ReturnsOneMessageOrNull()
    {
        await Store.AppendAsync([Message("c2c:alice:bob", 1), Message("c2c:alice:bob", 2)], _ct);

        Assert.Equal("message 2", (await Store.GetAsync("c2c:alice:bob", 2, _ct))!.Text);
        Assert.Null(await Store.GetAsync("c2c:alice:bob", 3, _ct));
    }

    [Fact]
    public async Task FindByClientMsgIds_FindsOnlyStoredKeysOfThatSender()
    {
        await Store.AppendAsync([Message("c2c:alice:bob", 1, clientMsgId: "m1"), Message("c2c:alice:bob", 2, clientMsgId: "")], _ct);

        var found = await Store.FindByClientMsgIdsAsync(
            [Key("alice", "m1"), Key("bob", "m1"), Key("alice", "m2"), Key("alice", ""), new ClientMsgKey("c2c:alice:carol", "alice", "m1")], _ct);

        var only = Assert.Single(found);
        Assert.Equal(Key("alice", "m1"), only.Key);
        Assert.Equal(1, only.Value.Seq);
    }

    [Fact]
    public async Task FindByClientMsgIds_HandlesLargeBatches()
    {
        var messages = Enumerable.Range(1, 1500).Select(i => Message("c2c:alice:bob", i, clientMsgId: $"m{i}")).ToList();
        await Store.AppendAsync(messages, _ct);

        var found = await Store.FindByClientMsgIdsAsync(messages.Select(m => Key("alice", m.ClientMsgId)).ToList(), _ct);

        Assert.Equal(1500, found.Count);
        Assert.Equal(777, found[Key("alice", "m777")].Seq);
    }

    [Fact]
    public async Task Append_DuplicateSeq_FailsAtomically()
    {
        await Store.AppendAsync([Message("c2c:alice:bob", 1)], _ct);

        await Assert.ThrowsAnyAsync<Exception>(() => Store.AppendAsync([Message("c2c:alice:bob", 2), Message("c2c:alice:bob", 1)], _ct));

        // Nothing of the failed batch is visible.
        Assert.Equal(1, await Store.GetMaxSeqAsync("c2c:alice:bob", _ct));
    }

    [Fact]
    public async Task Append_SurvivesReopen()
    {
        await Store.AppendAsync(Enumerable.Range(1, 3).Select(i => Message("c2c:alice:bob", i, clientMsgId: $"m{i}")).ToList(), _ct);

        var reopened = await CreateStoreAsync(reopenOf: Store);
        try
        {
            Assert.Equal(3, await reopened.GetMaxSeqAsync("c2c:alice:bob", _ct));
            Assert.Single(await reopened.FindByClientMsgIdsAsync([Key("alice", "m2")], _ct));
        }
        finally
        {
            if (!ReferenceEquals(reopened, Store))
            {
                await DisposeStoreAsync(reopened);
            }
        }
    }

    [Fact]
    public async Task ConcurrentAppendsAndReads_LoseNothing()
    {
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var conversation = $"c2c:user{w}:zed";
            for (var batch = 0; batch < 20; batch++)
            {
                var messages = Enumerable.Range(batch * 10 + 1, 10).Select(s => Message(conversation, s, sender: $"user{w}", recipient: "zed")).ToList();
                await Store.AppendAsync(messages, _ct);
                await Store.ReadAfterAsync(conversation, 0, 5, _ct);
            }
        }));
        await Task.WhenAll(writers);

        for (var w = 0; w < 4; w++)
        {
            Assert.Equal(200, await Store.GetMaxSeqAsync($"c2c:user{w}:zed", _ct));
            Assert.Equal(200, (await Store.ReadAfterAsync($"c2c:user{w}:zed", 0, 1000, _ct)).Count);
        }
    }

    [Fact]
    public async Task Append_ResendOfAStoredMessage_IsReportedWithTheOriginal_AndNotStoredAgain()
    {
        await Store.AppendAsync([Message("c2c:alice:bob", 1, clientMsgId: "m1")], _ct);

        var result = await Store.AppendAsync([Message("c2c:alice:bob", 2, clientMsgId: "m1"), Message("c2c:alice:bob", 3, clientMsgId: "m3")], _ct);

        var duplicate = Assert.Single(result.Duplicates);
        Assert.Equal(Key("alice", "m1"), duplicate.Key);
        Assert.Equal(1, duplicate.Value.Seq);
        Assert.Equal([1L, 3], (await Store.ReadAfterAsync("c2c:alice:bob", 0, 10, _ct)).Select(m => m.Seq));
        Assert.Equal(3, await Store.GetMaxSeqAsync("c2c:alice:bob", _ct));
    }

    [Fact]
    public async Task Append_LargeBatchOverManyConversations_WithResendsInside_StoresTheRest_AndMovesEveryHead()
    {
        // 35 conversations × 2 messages: more rows than a store may write in one statement, resends on both sides of
        // any chunk boundary a store might use (indexes 0, 31, 32 and the last).
        await Store.AppendAsync([Message("c2c:u0:peer", 1, sender: "u0", recipient: "peer", clientMsgId: "first")], _ct);
        var batch = new List<ChatMessage>();
        for (var round = 0; round < 2; round++)
        {
            for (var c = 0; c < 35; c++)
            {
                var conversation = $"c2c:u{c}:peer";
                batch.Add(Message(conversation, (c == 0 ? 2 : 1) + round, sender: $"u{c}", recipient: "peer", clientMsgId: $"m{c}-{round}"));
            }
        }

        int[] resent = [0, 31, 32, batch.Count - 1];
        await Store.AppendAsync(resent.Select(i => batch[i]).ToList(), _ct);
        batch[0] = Message("c2c:u0:peer", 9, sender: "u0", recipient: "peer", clientMsgId: "first"); // a resend of the very first send

        var result = await Store.AppendAsync(batch, _ct);

        Assert.Equal(
            new[] { Key("u0", "first", "c2c:u0:peer"), Key("u31", "m31-0", "c2c:u31:peer"), Key("u32", "m32-0", "c2c:u32:peer"), Key("u34", "m34-1", "c2c:u34:peer") }
                .OrderBy(k => k.ConversationId),
            result.Duplicates.Keys.OrderBy(k => k.ConversationId));
        Assert.Equal(1, result.Duplicates[Key("u0", "first", "c2c:u0:peer")].Seq);
        for (var c = 0; c < 35; c++)
        {
            var conversation = $"c2c:u{c}:peer";
            var stored = await Store.ReadAfterAsync(conversation, 0, 10, _ct);
            Assert.Equal(c == 0 ? [1L, 2, 3] : [1L, 2], stored.Select(m => m.Seq));
            Assert.Equal(c == 0 ? 3 : 2, await Store.GetMaxSeqAsync(conversation, _ct));
        }
    }

    [Fact]
    public async Task Append_SameClientMsgId_InAnotherConversation_IsAnotherMessage()
    {
        await Store.AppendAsync([Message("c2c:alice:bob", 1, clientMsgId: "m1")], _ct);

        var result = await Store.AppendAsync([Message("c2c:alice:carol", 1, recipient: "carol", clientMsgId: "m1")], _ct);

        Assert.Empty(result.Duplicates);
        Assert.Equal(1, await Store.GetMaxSeqAsync("c2c:alice:carol", _ct));
        Assert.Equal(2, (await Store.FindByClientMsgIdsAsync([Key("alice", "m1"), Key("alice", "m1", "c2c:alice:carol")], _ct)).Count);
    }

    [Fact]
    public async Task Append_TwoNodesRaceTheSameResend_StoredOnce_EveryLoserSeesTheWinner()
    {
        var other = await CreateStoreAsync(reopenOf: Store);
        try
        {
            // Each "node" allocated its own seq for the same send (as two nodes with a shared allocator would).
            var attempts = Enumerable.Range(1, 8).Select(seq => Task.Run(() =>
                (seq % 2 == 0 ? Store : other).AppendAsync([Message("c2c:alice:bob", seq, clientMsgId: "same")], _ct))).ToList();
            var results = await Task.WhenAll(attempts);

            var stored = Assert.Single(await Store.ReadAfterAsync("c2c:alice:bob", 0, 100, _ct));
            Assert.Equal(7, results.Count(r => r.Duplicates.Count == 1));
            Assert.All(results.Where(r => r.Duplicates.Count == 1), r => Assert.Equal(stored.Seq, r.Duplicates[Key("alice", "same")].Seq));
            Assert.Equal(stored.Seq, await Store.GetMaxSeqAsync("c2c:alice:bob", _ct));
        }
        finally
        {
            await DisposeStoreAsync(other);
        }
    }

    [Fact]
    public async Task Append_TwoNodesOnOneConversation_AllStored_HeadIsTheHighestSeq()
    {
        var other = await CreateStoreAsync(reopenOf: Store);
        try
        {
            var writers = new[] { Store, other }.Select((store, node) => Task.Run(async () =>
            {
                for (var batch = 0; batch < 25; batch++)
                {
                    var seqs = Enumerable.Range(batch * 8 + 1, 8).Where(s => s % 2 == node);
                    await store.AppendAsync(seqs.Select(s => Message("c2c:alice:bob", s, clientMsgId: $"m{s}")).ToList(), _ct);
                }
            }));
            await Task.WhenAll(writers);

            Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), (await Store.ReadAfterAsync("c2c:alice:bob", 0, 1000, _ct)).Select(m => m.Seq));
            Assert.Equal(200, await other.GetMaxSeqAsync("c2c:alice:bob", _ct));
        }
        finally
        {
            await DisposeStoreAsync(other);
        }
    }
}
