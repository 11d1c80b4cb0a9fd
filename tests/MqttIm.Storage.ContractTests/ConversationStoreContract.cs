using MqttIm.ImExtensions.Storage;

namespace MqttIm.Storage.ContractTests;

/// <summary>What every <see cref="IConversationStore"/> must do, together with the <see cref="IMessageStore"/> of the same backend.</summary>
public abstract class ConversationStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    protected IMessageStore Messages { get; private set; } = null!;

    protected IConversationStore Conversations { get; private set; } = null!;

    protected abstract Task<(IMessageStore Messages, IConversationStore Conversations)> CreateAsync();

    protected abstract Task DisposeStoresAsync();

    /// <summary>
    /// Deletes the kept unread totals from the database (as one written before they existed) and opens new stores on it,
    /// as a restart after the upgrade does.
    /// </summary>
    protected abstract Task<(IMessageStore Messages, IConversationStore Conversations)> ReopenWithoutUnreadTotalsAsync();

    /// <summary>Stores on the same database for a second node (a shared backend); the embedded one has a single node.</summary>
    protected virtual Task<(IMessageStore Messages, IConversationStore Conversations)> OpenSecondNodeAsync() => Task.FromResult((Messages, Conversations));

    public async Task InitializeAsync() => (Messages, Conversations) = await CreateAsync();

    public Task DisposeAsync() => DisposeStoresAsync();

    [Fact]
    public async Task C2cMessages_MakeBothUsersParticipants_WithMaxSeq()
    {
        await Messages.AppendAsync([MessageStoreContract.Message("c2c:alice:bob", 1), MessageStoreContract.Message("c2c:alice:bob", 2, sender: "bob", recipient: "alice")], _ct);

        var alice = Assert.Single(await Conversations.GetAllAsync("alice", _ct));
        Assert.Equal(("c2c:alice:bob", 2L, 0L), (alice.ConversationId, alice.MaxSeq, alice.ReadSeq));
        Assert.Equal(2, alice.Unread);
        Assert.Single(await Conversations.GetAllAsync("bob", _ct));
        Assert.Empty(await Conversations.GetAllAsync("mallory", _ct));
        Assert.Null(await Conversations.GetAsync("mallory", "c2c:alice:bob", _ct));
    }

    [Fact]
    public async Task GetPage_PagesTheUsersConversationsByIdAfterTheCursor_WithTheirStates()
    {
        string[] ids = ["c2c:alice:bob", "c2c:alice:carol", "c2c:alice:dave", "c2c:alice:erin", "c2c:alice:frank"];
        var messages = new List<MqttIm.Contracts.V1.ChatMessage>();
        for (var i = 0; i < ids.Length; i++)
        {
            var peer = ids[i].Split(':')[2];
            messages.AddRange(Enumerable.Range(1, i + 1).Select(seq => MessageStoreContract.Message(ids[i], seq, recipient: peer)));
        }

        await Messages.AppendAsync(messages, _ct);
        await Messages.AppendAsync([MessageStoreContract.Message("c2c:bob:zed", 1, sender: "bob", recipient: "zed")], _ct);

        var first = await Conversations.GetPageAsync("alice", null, 2, _ct);
        var second = await Conversations.GetPageAsync("alice", first[^1].ConversationId, 2, _ct);
        var third = await Conversations.GetPageAsync("alice", second[^1].ConversationId, 2, _ct);
        var past = await Conversations.GetPageAsync("alice", third[^1].ConversationId, 2, _ct);

        Assert.Equal(ids, first.Concat(second).Concat(third).Select(c => c.ConversationId));
        Assert.Equal((2, 2, 1), (first.Count, second.Count, third.Count));
        Assert.Empty(past);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], first.Concat(second).Concat(third).Select(c => c.MaxSeq));
        Assert.Equal(ids.Skip(2), (await Conversations.GetPageAsync("alice", "c2c:alice:carol", 10, _ct)).Select(c => c.ConversationId));
        Assert.Equal(ids, (await Conversations.GetPageAsync("alice", "", 100, _ct)).Select(c => c.ConversationId));
        Assert.Empty(await Conversations.GetPageAsync("mallory", null, 10, _ct));
    }

    [Fact]
    public async Task MarkRead_NeverMovesBackwards_AndStopsAtMaxSeq()
    {
        await Messages.AppendAsync(Enumerable.Range(1, 5).Select(i => MessageStoreContract.Message("c2c:alice:bob", i)).ToList(), _ct);

        Assert.Equal(3, await Conversations.MarkReadAsync("bob", "c2c:alice:bob", 3, _ct));
        Assert.Equal(3, await Conversations.MarkReadAsync("bob", "c2c:alice:bob", 1, _ct));
        Assert.Equal(5, await Conversations.MarkReadAsync("bob", "c2c:alice:bob", 99, _ct));
        Assert.Null(await Conversations.MarkReadAsync("mallory", "c2c:alice:bob", 1, _ct));
        Assert.Equal(0, (await Conversations.GetAsync("bob", "c2c:alice:bob", _ct))!.Unread);
        Assert.Equal(new Dictionary<string, long> { ["alice"] = 0, ["bob"] = 5 }, await Conversations.GetReadPositionsAsync("c2c:alice:bob", _ct));
    }

    [Fact]
    public async Task Participants_AddedLater_JoinAtTheirSeq_AndCanBeRemoved()
    {
        await Conversations.AddParticipantsAsync("group:g1", ["alice", "bob"], joinedSeq: 1, _ct);
        await Messages.AppendAsync(Enumerable.Range(1, 4).Select(i => MessageStoreContract.Message("group:g1", i, recipient: "")).ToList(), _ct);
        await Conversations.AddParticipantsAsync("group:g1", ["carol"], joinedSeq: 5, _ct);
        await Messages.AppendAsync([MessageStoreContract.Message("group:g1", 5, recipient: "")], _ct);

        var carol = (await Conversations.GetAsync("carol", "group:g1", _ct))!;
        Assert.Equal((5L, 5L, 1L), (carol.JoinedSeq, carol.MaxSeq, carol.Unread));
        Assert.Equal(5, (await Conversations.GetAsync("bob", "group:g1", _ct))!.Unread);

        await Conversations.RemoveParticipantsAsync("group:g1", ["bob"], _ct);
        Assert.Null(await Conversations.GetAsync("bob", "group:g1", _ct));
    }

    [Fact]
    public async Task List_PinnedFirst_ThenLatestActivity_WithLastMessage_Paged()
    {
        await Messages.AppendAsync([MessageStoreContract.Message("c2c:alice:bob", 1)], _ct);
        await Messages.AppendAsync([MessageStoreContract.Message("c2c:alice:carol", 1, recipient: "carol")], _ct);
        var late = MessageStoreContract.Message("c2c:alice:dave", 1, recipient: "dave");
        late.ServerTimeMs += 1000;
        await Messages.AppendAsync([late], _ct);
        Assert.True(await Conversations.SetFlagsAsync("alice", "c2c:alice:bob", pinned: true, muted: null, _ct));
        Assert.True(await Conversations.SetFlagsAsync("alice", "c2c:alice:carol", pinned: null, muted: true, _ct));
        Assert.False(await Conversations.SetFlagsAsync("alice", "c2c:nobody:else", pinned: true, muted: null, _ct));

        var first = await Conversations.ListAsync("alice", null, 2, _ct);
        var second = await Conversations.ListAsync("alice", first.Next, 2, _ct);

        Assert.Equal(["c2c:alice:bob", "c2c:alice:dave"], first.Conversations.Select(c => c.ConversationId));
        Assert.True(first.Conversations[0].Pinned);
        Assert.Equal("message 1", first.Conversations[1].LastMessage!.Text);
        Assert.NotNull(first.Next);
        var carol = Assert.Single(second.Conversations);
        Assert.True(carol.Muted);
        Assert.False(carol.Pinned);
        Assert.Null(second.Next);
    }

    [Fact]
    public async Task List_ByCursor_VisitsEveryConversationOnce_InOrder_WithTiesAndPins()
    {
        // Equal activity times make the conversation id the tie-breaker; two pinned ones lead.
        await Messages.AppendAsync(Enumerable.Range(0, 11).Select(i => MessageStoreContract.Message($"c2c:alice:u{i:D2}", 1, recipient: $"u{i:D2}")).ToList(), _ct);
        await Conversations.SetFlagsAsync("alice", "c2c:alice:u03", pinned: true, muted: null, _ct);
        await Conversations.SetFlagsAsync("alice", "c2c:alice:u07", pinned: true, muted: null, _ct);

        var seen = new List<string>();
        ConversationListCursor? cursor = null;
        for (var pages = 0; pages < 20; pages++)
        {
            var page = await Conversations.ListAsync("alice", cursor, 3, _ct);
            seen.AddRange(page.Conversations.Select(c => c.ConversationId));
            cursor = page.Next;
            if (cursor is null)
            {
                break;
            }

            // The cursor survives its wire form.
            Assert.True(ConversationListCursor.TryParse(cursor.Encode(), out var parsed));
            cursor = parsed;
        }

        var rest = Enumerable.Range(0, 11).Where(i => i is not 3 and not 7).Reverse().Select(i => $"c2c:alice:u{i:D2}");
        Assert.Equal(["c2c:alice:u07", "c2c:alice:u03", .. rest], seen);
        Assert.Empty((await Conversations.ListAsync("nobody", null, 3, _ct)).Conversations);
    }

    [Fact]
    public async Task GetUnread_TotalOverAllConversations_AndOneConversation_FromTheSameRead()
    {
        await Messages.AppendAsync(Enumerable.Range(1, 4).Select(i => MessageStoreContract.Message("c2c:alice:bob", i)).ToList(), _ct);
        await Messages.AppendAsync(Enumerable.Range(1, 3).Select(i => MessageStoreContract.Message("c2c:bob:carol", i, sender: "carol")).ToList(), _ct);
        await Conversations.AddParticipantsAsync("group:g1", ["bob"], joinedSeq: 3, _ct);
        await Messages.AppendAsync(Enumerable.Range(1, 5).Select(i => MessageStoreContract.Message("group:g1", i, sender: "carol", recipient: "")).ToList(), _ct);
        await Conversations.MarkReadAsync("bob", "c2c:alice:bob", 1, _ct);

        var summary = await Conversations.GetUnreadAsync("bob", "c2c:alice:bob", _ct);

        Assert.Equal(3 + 3 + 3, summary.TotalUnread); // 4−1, 3, and 5 − (join at 3 − 1)
        Assert.Equal(("c2c:alice:bob", 3L, 1L), (summary.Conversation!.ConversationId, summary.Conversation.Unread, summary.Conversation.ReadSeq));
        Assert.Null((await Conversations.GetUnreadAsync("bob", "c2c:not:mine", _ct)).Conversation);
        Assert.Equal(9, (await Conversations.GetUnreadAsync("bob", null, _ct)).TotalUnread);
        Assert.Equal(new UnreadSummary(0, null), await Conversations.GetUnreadAsync("nobody", null, _ct));
    }

    [Fact]
    public async Task UnreadTotal_IsTheSumOverConversations_AfterEveryKindOfChange()
    {
        string[] users = ["alice", "bob", "carol", "dave", "mallory"];
        async Task Step(string name, Func<Task> change)
        {
            await change();
            await AssertTotalsAreSumsAsync(name, Conversations, users);
        }

        await Step("1:1 messages both ways", () => Messages.AppendAsync(
            [MessageStoreContract.Message("c2c:alice:bob", 1), MessageStoreContract.Message("c2c:alice:bob", 2, sender: "bob", recipient: "alice")], _ct));
        await Step("one batch over several conversations", () => Messages.AppendAsync(
        [
            MessageStoreContract.Message("c2c:alice:bob", 3, clientMsgId: "m3"),
            MessageStoreContract.Message("c2c:alice:carol", 1, recipient: "carol"),
            MessageStoreContract.Message("c2c:alice:carol", 2, recipient: "carol"),
        ], _ct));
        await Step("a resend is not counted again", () => Messages.AppendAsync([MessageStoreContract.Message("c2c:alice:bob", 4, clientMsgId: "m3")], _ct));
        await Step("notification", () => Messages.AppendAsync([MessageStoreContract.Message("notify:dave", 1, sender: "system", recipient: "dave")], _ct));
        await Step("group created", () => Conversations.AddParticipantsAsync("group:g1", ["alice", "bob", "carol"], joinedSeq: 1, _ct));
        await Step("group messages", () => Messages.AppendAsync(
            Enumerable.Range(1, 4).Select(i => MessageStoreContract.Message("group:g1", i, recipient: "")).ToList(), _ct));
        await Step("a member joins later", () => Conversations.AddParticipantsAsync("group:g1", ["dave"], joinedSeq: 5, _ct));
        await Step("members join ahead of the head", () => Conversations.AddParticipantsAsync("group:g2", ["dave", "bob"], joinedSeq: 3, _ct));
        await Step("messages before and after the join seq", () => Messages.AppendAsync(
            Enumerable.Range(1, 4).Select(i => MessageStoreContract.Message("group:g2", i, sender: "carol", recipient: "")).ToList(), _ct));
        await Step("read", () => Conversations.MarkReadAsync("bob", "c2c:alice:bob", 2, _ct));
        await Step("read backwards", () => Conversations.MarkReadAsync("bob", "c2c:alice:bob", 1, _ct));
        await Step("read past the head", () => Conversations.MarkReadAsync("carol", "group:g1", 99, _ct));
        await Step("read by a non-member", () => Conversations.MarkReadAsync("mallory", "group:g1", 3, _ct));
        await Step("leave", () => Conversations.RemoveParticipantsAsync("group:g1", ["bob"], _ct));
        await Step("leave again, with a non-member", () => Conversations.RemoveParticipantsAsync("group:g1", ["bob", "mallory"], _ct));
        await Step("rejoin", () => Conversations.AddParticipantsAsync("group:g1", ["bob"], joinedSeq: 5, _ct));
        await Step("a member's join seq moves", () => Conversations.AddParticipantsAsync("group:g1", ["alice", "alice"], joinedSeq: 4, _ct));
        await Step("more group messages", () => Messages.AppendAsync(
            [MessageStoreContract.Message("group:g1", 5, recipient: ""), MessageStoreContract.Message("group:g1", 6, sender: "dave", recipient: "")], _ct));
        await Step("a seq above the head, then one below it", async () =>
        {
            await Messages.AppendAsync([MessageStoreContract.Message("group:g1", 9, recipient: "")], _ct);
            await Messages.AppendAsync([MessageStoreContract.Message("group:g1", 8, recipient: "")], _ct);
        });
        await Step("everyone leaves", () => Conversations.RemoveParticipantsAsync("group:g2", ["dave", "bob"], _ct));

        // Not vacuous: the totals are the numbers worked out by hand (the 1:1 head is 3, the resend was not stored; g1's is 9).
        Assert.Equal(3 + 2 + (9 - 3), (await Conversations.GetUnreadAsync("alice", null, _ct)).TotalUnread); // g1 rejoined at 4
        Assert.Equal((3 - 2) + (9 - 4), (await Conversations.GetUnreadAsync("bob", null, _ct)).TotalUnread); // read 2; rejoined at 5
        Assert.Equal(2 + (9 - 4), (await Conversations.GetUnreadAsync("carol", null, _ct)).TotalUnread); // read capped at 4
        Assert.Equal(1 + (9 - 4), (await Conversations.GetUnreadAsync("dave", null, _ct)).TotalUnread); // joined g1 at 5
        Assert.Equal(0, (await Conversations.GetUnreadAsync("mallory", null, _ct)).TotalUnread);
    }

    [Fact]
    public async Task UnreadTotal_IsTheSum_AfterConcurrentAppendsReadsJoinsAndLeaves_FromTwoNodes()
    {
        var second = await OpenSecondNodeAsync();
        string[] members = ["u0", "u1", "u2", "u3", "u4", "u5"];
        await Conversations.AddParticipantsAsync("group:busy", members, joinedSeq: 1, _ct);
        await Conversations.AddParticipantsAsync("group:quiet", members[..3], joinedSeq: 1, _ct);
        long busySeq = 0;

        // Two nodes append to one conversation (seqs from one counter, so they commit out of order), others append to
        // conversations sharing members, and reads, joins and leaves run meanwhile. Every loop is bounded.
        async Task AppendBusy(IMessageStore messages, int batches)
        {
            for (var i = 0; i < batches; i++)
            {
                var batch = Enumerable.Range(0, 1 + (i % 3)).Select(_ => MessageStoreContract.Message("group:busy", Interlocked.Increment(ref busySeq), sender: "u0", recipient: "")).ToList();
                await messages.AppendAsync(batch, _ct);
            }
        }

        async Task AppendOwn(IMessageStore messages, string conversationId, string sender, string recipient, int count)
        {
            for (var seq = 1; seq <= count; seq++)
            {
                await messages.AppendAsync([MessageStoreContract.Message(conversationId, seq, sender: sender, recipient: recipient)], _ct);
            }
        }

        async Task Read(IConversationStore conversations, int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < 40; i++)
            {
                var user = members[random.Next(members.Length)];
                var conversation = random.Next(3) switch { 0 => "group:busy", 1 => "group:quiet", _ => "c2c:u0:u1" };
                await conversations.MarkReadAsync(user, conversation, random.Next(0, 40), _ct);
            }
        }

        async Task JoinAndLeave(IConversationStore conversations)
        {
            for (var i = 0; i < 10; i++)
            {
                await conversations.AddParticipantsAsync("group:busy", ["late"], joinedSeq: Math.Max(1, Interlocked.Read(ref busySeq) - 2), _ct);
                await conversations.RemoveParticipantsAsync("group:busy", i % 2 == 0 ? ["late"] : ["u5"], _ct);
                await conversations.AddParticipantsAsync("group:busy", ["u5"], joinedSeq: i + 1, _ct);
            }
        }

        await Task.WhenAll(
            Task.Run(() => AppendBusy(Messages, 25)),
            Task.Run(() => AppendBusy(second.Messages, 25)),
            Task.Run(() => AppendOwn(second.Messages, "group:quiet", "u1", "", 30)),
            Task.Run(() => AppendOwn(Messages, "c2c:u0:u1", "u0", "u1", 30)),
            Task.Run(() => Read(Conversations, 1)),
            Task.Run(() => Read(second.Conversations, 2)),
            Task.Run(() => JoinAndLeave(second.Conversations)));

        await AssertTotalsAreSumsAsync("after the concurrent changes", Conversations, [.. members, "late"]);
        await AssertTotalsAreSumsAsync("read by the second node", second.Conversations, [.. members, "late"]);
        Assert.True((await Conversations.GetUnreadAsync("u2", null, _ct)).TotalUnread > 0, "u2 read at most 40 of its unread messages");
    }

    [Fact]
    public async Task UnreadTotal_TwoNodesTakingTurnsOnOneConversation_CountsEachMessageOnce()
    {
        var second = await OpenSecondNodeAsync();
        await Conversations.AddParticipantsAsync("group:turns", ["u1", "u2"], joinedSeq: 1, _ct);

        // Each node's head move starts from the head the other node's commit left (a node that remembered its own last
        // head would count the other's messages twice).
        for (var seq = 1; seq <= 6; seq++)
        {
            await (seq % 2 == 1 ? Messages : second.Messages).AppendAsync(
                [MessageStoreContract.Message("group:turns", seq, sender: "u0", recipient: "")], _ct);
        }

        await second.Messages.AppendAsync(
            Enumerable.Range(7, 40).Select(seq => MessageStoreContract.Message("group:turns", seq, sender: "u0", recipient: "")).ToList(), _ct);
        await Messages.AppendAsync([MessageStoreContract.Message("group:turns", 47, sender: "u0", recipient: "")], _ct);

        Assert.Equal(47, (await Conversations.GetUnreadAsync("u1", null, _ct)).TotalUnread);
        Assert.Equal(47, (await second.Conversations.GetUnreadAsync("u2", null, _ct)).TotalUnread);
        await AssertTotalsAreSumsAsync("after the turns", Conversations, ["u1", "u2"]);
    }

    [Fact]
    public async Task UnreadTotals_AreComputedOnce_ForADatabaseFromBeforeThem()
    {
        await Messages.AppendAsync(Enumerable.Range(1, 4).Select(i => MessageStoreContract.Message("c2c:alice:bob", i)).ToList(), _ct);
        await Conversations.AddParticipantsAsync("group:g1", ["bob", "carol"], joinedSeq: 2, _ct);
        await Messages.AppendAsync(Enumerable.Range(1, 5).Select(i => MessageStoreContract.Message("group:g1", i, recipient: "")).ToList(), _ct);
        await Conversations.MarkReadAsync("bob", "c2c:alice:bob", 1, _ct);

        var (messages, conversations) = await ReopenWithoutUnreadTotalsAsync();

        Assert.Equal(3 + 4, (await conversations.GetUnreadAsync("bob", null, _ct)).TotalUnread);
        Assert.Equal(4, (await conversations.GetUnreadAsync("carol", null, _ct)).TotalUnread);
        await messages.AppendAsync([MessageStoreContract.Message("group:g1", 6, recipient: "")], _ct);
        Assert.Equal(3 + 5, (await conversations.GetUnreadAsync("bob", null, _ct)).TotalUnread);
        await AssertTotalsAreSumsAsync("after the upgrade", conversations, ["alice", "bob", "carol"]);
    }

    private async Task AssertTotalsAreSumsAsync(string step, IConversationStore conversations, IEnumerable<string> users)
    {
        foreach (var user in users)
        {
            var total = (await conversations.GetUnreadAsync(user, null, _ct)).TotalUnread;
            var sum = (await conversations.GetAllAsync(user, _ct)).Sum(c => c.Unread);
            Assert.True(total == sum, $"after '{step}': {user}'s kept total is {total}, the sum over their conversations {sum}");
        }
    }

    [Fact]
    public async Task ShareConversation_TrueFor1to1PeersAndGroupMembers_Only()
    {
        await Messages.AppendAsync([MessageStoreContract.Message("c2c:alice:bob", 1)], _ct);
        await Messages.AppendAsync([MessageStoreContract.Message("notify:carol", 1, sender: "system", recipient: "carol")], _ct);
        await Conversations.AddParticipantsAsync("group:g1", ["alice", "dave"], joinedSeq: 1, _ct);

        Assert.True(await Conversations.ShareConversationAsync("alice", "bob", _ct));
        Assert.True(await Conversations.ShareConversationAsync("bob", "alice", _ct));
        Assert.True(await Conversations.ShareConversationAsync("dave", "alice", _ct));
        Assert.False(await Conversations.ShareConversationAsync("bob", "dave", _ct));
        Assert.False(await Conversations.ShareConversationAsync("carol", "system", _ct));

        await Conversations.RemoveParticipantsAsync("group:g1", ["dave"], _ct);
        Assert.False(await Conversations.ShareConversationAsync("dave", "alice", _ct));
    }
}
