using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Catching up after being offline (explicit sync, sync on connect, reconnect) and reading history pages.</summary>
public sealed class SyncTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Fact]
    public async Task OfflineClientCatchesUpWithPagedSyncInSeqOrder()
    {
        var alice = BrokerFixture.NewUser("alice");
        var carol = BrokerFixture.NewUser("carol");
        var bob = BrokerFixture.NewUser("bob");
        await using (var aliceClient = await fixture.ConnectAsync(alice))
        await using (var carolClient = await fixture.ConnectAsync(carol))
        {
            for (var i = 1; i <= 25; i++)
            {
                await aliceClient.SendTextAsync(bob, $"a{i}");
                if (i <= 7)
                {
                    await carolClient.SendTextAsync(bob, $"c{i}");
                }
            }
        }

        // Bob was never online: he asks for everything, 4 messages per page, so the SDK must loop over 8+ pages.
        await using var bobClient = await fixture.ConnectAsync(bob, o => o.SyncOnConnect = false);
        var synced = (await bobClient.SyncAsync(pageLimit: 4)).ToDictionary(c => c.ConversationId);

        var withAlice = synced[ConversationIds.C2c(alice, bob)];
        Assert.Equal(Streams.Range(1, 25), withAlice.Messages.Seqs());
        Assert.Equal(Enumerable.Range(1, 25).Select(i => $"a{i}"), withAlice.Messages.Select(m => m.Text));
        Assert.Equal(25, withAlice.MaxSeq);
        var withCarol = synced[ConversationIds.C2c(carol, bob)];
        Assert.Equal(Streams.Range(1, 7), withCarol.Messages.Seqs());
        Assert.Equal(2, synced.Count);

        // From cursors: only what comes after them.
        var fromCursors = (await bobClient.SyncAsync(
            new Dictionary<string, long> { [withAlice.ConversationId] = 20, [withCarol.ConversationId] = 7 }, pageLimit: 2))
            .ToDictionary(c => c.ConversationId);
        Assert.Equal(Streams.Range(21, 25), fromCursors[withAlice.ConversationId].Messages.Seqs());
        Assert.Empty(fromCursors[withCarol.ConversationId].Messages);
        Assert.Equal(7, fromCursors[withCarol.ConversationId].MaxSeq);

        // SyncOnConnect was off, so the stream holds nothing: an explicit SyncAsync does not feed it.
        Assert.Empty(bobClient.Cursors);
    }

    [Fact]
    public async Task ConnectingSyncsMissedMessagesIntoTheStreamAfterTheInitialCursors()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var conversation = ConversationIds.C2c(alice, bob);
        await using (var aliceClient = await fixture.ConnectAsync(alice))
        {
            await aliceClient.SendBatchAsync(bob, Enumerable.Range(1, 12).Select(i => new SendRequest { Text = $"m{i}" }));
        }

        // Bob's app restored seqs 1..5 from its database.
        await using var bobClient = await fixture.ConnectAsync(bob, o =>
        {
            o.InitialCursors = new Dictionary<string, long> { [conversation] = 5 };
            o.SyncPageLimit = 3;
        });

        var caughtUp = await bobClient.TakeAsync(7);
        Assert.Equal(Streams.Range(6, 12), caughtUp.Seqs());
        Assert.Equal(12, bobClient.Cursors[conversation]);

        // Live messages continue the sequence.
        await using var aliceAgain = await fixture.ConnectAsync(alice);
        await aliceAgain.SendTextAsync(bob, "live");
        var live = Assert.Single(await bobClient.TakeAsync(1));
        Assert.Equal((13L, "live"), (live.Seq, live.Text));
    }

    [Fact]
    public async Task LiveMessageAfterAGapIsHeldBackUntilSyncFillsTheGap()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await aliceClient.SendBatchAsync(bob, Enumerable.Range(1, 3).Select(i => new SendRequest { Text = $"missed {i}" }));

        // Bob skips the connect-time sync, so the first live message (seq 4) arrives behind a gap of 1..3.
        await using var bobClient = await fixture.ConnectAsync(bob, o =>
        {
            o.SyncOnConnect = false;
            o.GapTimeout = TimeSpan.FromMilliseconds(100);
        });
        await aliceClient.SendTextAsync(bob, "live 4");

        var received = await bobClient.TakeAsync(4);
        Assert.Equal([1L, 2L, 3L, 4L], received.Seqs());
        Assert.Equal(["missed 1", "missed 2", "missed 3", "live 4"], received.Select(m => m.Text));
    }

    [Fact]
    public async Task HistoryPagesBackwardsInSeqOrder()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var conversation = ConversationIds.C2c(alice, bob);
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await aliceClient.SendBatchAsync(bob, Enumerable.Range(1, 12).Select(i => new SendRequest { Text = $"h{i}" }));

        var newest = await aliceClient.HistoryAsync(conversation, beforeSeq: 0, limit: 5);
        Assert.Equal(Streams.Range(8, 12), newest.Messages.Seqs());
        Assert.True(newest.HasMore);
        Assert.Equal(conversation, newest.ConversationId);

        var older = await aliceClient.HistoryAsync(conversation, beforeSeq: newest.Messages[0].Seq, limit: 5);
        Assert.Equal(Streams.Range(3, 7), older.Messages.Seqs());
        Assert.True(older.HasMore);

        var oldest = await aliceClient.HistoryAsync(conversation, beforeSeq: older.Messages[0].Seq, limit: 5);
        Assert.Equal([1L, 2L], oldest.Messages.Seqs());
        Assert.Equal(["h1", "h2"], oldest.Messages.Select(m => m.Text));
        Assert.False(oldest.HasMore);

        // Someone else's conversation is refused.
        var refused = await Assert.ThrowsAsync<MqttImRpcException>(() => aliceClient.HistoryAsync(ConversationIds.C2c("x1", "y1")));
        Assert.Equal(("history", "not_authorized"), (refused.Method, refused.Code));
    }

    [Fact]
    public async Task AutoReconnectCatchesUpWhatWasSentWhileDisconnected()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob, o =>
        {
            o.AutoReconnect = true;
            o.ReconnectDelay = TimeSpan.FromSeconds(1);
        });
        await aliceClient.SendTextAsync(bob, "before");
        Assert.Equal(1, Assert.Single(await bobClient.TakeAsync(1)).Seq);

        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var back = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bobClient.ConnectionChanged += up => (up ? back : lost).TrySetResult();

        // Another connection with bob's device id takes the session over, which drops bob's connection.
        await using (var usurper = await TestDevice.ConnectAsync(fixture.Broker, bob, clientId: bobClient.DeviceId, subscribeInbox: false))
        {
            await lost.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.False(bobClient.IsConnected);
            for (var i = 1; i <= 3; i++)
            {
                await aliceClient.SendTextAsync(bob, $"while away {i}");
            }
        }

        await back.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var caughtUp = await bobClient.TakeAsync(3);
        Assert.Equal([2L, 3L, 4L], caughtUp.Seqs());
        Assert.Equal(["while away 1", "while away 2", "while away 3"], caughtUp.Select(m => m.Text));
        Assert.True(bobClient.IsConnected);
    }
}

/// <summary>Sync without conversation ids pages the conversations as well (issue 9 item 1): a keyset cursor the SDK follows.</summary>
public sealed class SyncConversationPagingTests(TightLimitsBrokerFixture fixture) : IClassFixture<TightLimitsBrokerFixture>
{
    [Fact]
    public async Task UserWithMoreConversationsThanAPage_SyncsEveryOne_ExplicitlyAndOnConnect()
    {
        var bob = BrokerFixture.NewUser("bob");
        var senders = Enumerable.Range(0, 2 * TightLimitsBrokerFixture.SyncConversationsPerPage + 1).Select(i => BrokerFixture.NewUser($"s{i}")).ToList();
        foreach (var sender in senders)
        {
            await using var client = await fixture.ConnectAsync(sender);
            await client.SendBatchAsync(bob, Enumerable.Range(1, 3).Select(i => new SendRequest { Text = $"{sender} {i}" }));
        }

        // Five conversations, two per answer, two messages per page: the SDK walks messages and conversations.
        await using (var bobClient = await fixture.ConnectAsync(bob, o => o.SyncOnConnect = false))
        {
            var synced = (await bobClient.SyncAsync(pageLimit: 2)).ToDictionary(c => c.ConversationId);
            Assert.Equal(senders.Select(s => ConversationIds.C2c(s, bob)).Order(StringComparer.Ordinal), synced.Keys.Order(StringComparer.Ordinal));
            foreach (var sender in senders)
            {
                var conversation = synced[ConversationIds.C2c(sender, bob)];
                Assert.Equal(Streams.Range(1, 3), conversation.Messages.Seqs());
                Assert.Equal(3, conversation.MaxSeq);
            }
        }

        // Catching up on connect follows the same cursor: every message reaches the stream once.
        await using var onConnect = await fixture.ConnectAsync(bob, o => o.SyncPageLimit = 4);
        var caughtUp = await onConnect.TakeAsync(3 * senders.Count);
        Assert.Equal(senders.Count, caughtUp.Select(m => m.ConversationId).Distinct().Count());
        Assert.All(caughtUp.GroupBy(m => m.ConversationId), g => Assert.Equal(Streams.Range(1, 3), g.Seqs()));
    }
}
