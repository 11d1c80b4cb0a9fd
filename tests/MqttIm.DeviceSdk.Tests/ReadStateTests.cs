using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Read positions with receipts to the peer and the reader's other devices, read counts and the conversation list.</summary>
public sealed class ReadStateTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Fact]
    public async Task MarkReadAnswersUnreadAndSendsReceiptsToThePeerAndTheReadersOtherDevices()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        await using var alicePhone = await fixture.ConnectAsync(alice);
        await using var aliceTablet = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        await using var carolClient = await fixture.ConnectAsync(carol);
        await bobClient.SendBatchAsync(alice, Enumerable.Range(1, 3).Select(i => new SendRequest { Text = $"b{i}" }));
        await carolClient.SendBatchAsync(alice, Enumerable.Range(1, 2).Select(i => new SendRequest { Text = $"c{i}" }));
        await alicePhone.TakeAsync(5);
        var withBob = ConversationIds.C2c(alice, bob);
        var atBob = Receipt(bobClient);
        var atTablet = Receipt(aliceTablet);
        var atPhone = Receipt(alicePhone);

        var read = await alicePhone.MarkReadAsync(withBob, 2);

        Assert.Equal((withBob, 2L, 1L, 3L), (read.ConversationId, read.ReadSeq, read.Unread, read.TotalUnread));
        foreach (var receipt in new[] { await atBob.WaitAsync(TimeSpan.FromSeconds(10)), await atTablet.WaitAsync(TimeSpan.FromSeconds(10)) })
        {
            Assert.Equal((withBob, alice, 2L), (receipt.ConversationId, receipt.ReaderId, receipt.ReadSeq));
        }

        Assert.False(atPhone.IsCompleted, "the reading device does not get its own receipt");

        // Read positions never move back, nor past the newest message.
        var back = await aliceTablet.MarkReadAsync(withBob, 1);
        Assert.Equal((2L, 1L), (back.ReadSeq, back.Unread));
        var all = await aliceTablet.MarkReadAsync(withBob, 99);
        Assert.Equal((3L, 0L, 2L), (all.ReadSeq, all.Unread, all.TotalUnread));
        var refused = await Assert.ThrowsAsync<MqttImRpcException>(() => alicePhone.MarkReadAsync(ConversationIds.C2c("x1", "y1"), 1));
        Assert.Equal(("read", "not_authorized"), (refused.Method, refused.Code));
    }

    [Fact]
    public async Task ReadCountsOfASmallGroupFollowTheMembersReadPositions()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        await using var carolClient = await fixture.ConnectAsync(carol);
        var group = await aliceClient.Groups.CreateAsync("readers", [bob, carol]);
        var conversation = ConversationIds.Group(group.GroupId);
        var first = await aliceClient.SendToGroupAsync(group.GroupId, "first");
        var second = await aliceClient.SendToGroupAsync(group.GroupId, "second");

        await bobClient.MarkReadAsync(conversation, second.Seq);
        await carolClient.MarkReadAsync(conversation, first.Seq);
        var counts = await aliceClient.GetReadCountsAsync(conversation, [first.Seq, second.Seq]);

        Assert.Equal(3, counts.MemberCount);
        Assert.Equal(new Dictionary<long, int> { [first.Seq] = 2, [second.Seq] = 1 }, counts.ReadCounts.ToDictionary(c => c.Key, c => c.Value));
    }

    [Fact]
    public async Task ConversationListPutsPinnedFirstThenLatestActivityWithFlags()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        var dave = BrokerFixture.NewUser("dave");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        await using var carolClient = await fixture.ConnectAsync(carol);
        await using var daveClient = await fixture.ConnectAsync(dave);
        // Activity is ordered by millisecond timestamps: each send waits until the clock has passed the previous one's.
        var oldest = await bobClient.SendTextAsync(alice, "oldest");
        ClockPassed(oldest.ServerTimeMs);
        var middle = await carolClient.SendBatchAsync(alice, [new SendRequest { Text = "c1" }, new SendRequest { Text = "c2" }]);
        ClockPassed(middle[^1].ServerTimeMs);
        await daveClient.SendTextAsync(alice, "newest");
        var withBob = ConversationIds.C2c(alice, bob);
        var withCarol = ConversationIds.C2c(alice, carol);
        var withDave = ConversationIds.C2c(alice, dave);

        var byActivity = await aliceClient.GetConversationsAsync();
        Assert.Equal([withDave, withCarol, withBob], byActivity.Conversations.Select(c => c.ConversationId));
        Assert.Equal(4, byActivity.TotalUnread);
        Assert.False(byActivity.HasMore);
        var carolInfo = byActivity.Conversations[1];
        Assert.Equal((2L, 0L, 2L, "c2"), (carolInfo.MaxSeq, carolInfo.ReadSeq, carolInfo.Unread, carolInfo.LastMessage.Text));

        var pinned = await aliceClient.SetConversationFlagsAsync(withBob, pinned: true);
        Assert.Equal((withBob, true, false), (pinned.ConversationId, pinned.Pinned, pinned.Muted));
        var muted = await aliceClient.SetConversationFlagsAsync(withCarol, muted: true);
        Assert.Equal((false, true), (muted.Pinned, muted.Muted));
        Assert.True((await aliceClient.SetConversationFlagsAsync(withBob, muted: false)).Pinned, "an unset flag stays as it is");

        var page1 = await aliceClient.GetConversationsAsync(limit: 2);
        Assert.Equal([withBob, withDave], page1.Conversations.Select(c => c.ConversationId));
        Assert.True(page1.HasMore);
        Assert.NotEmpty(page1.NextCursor);
        var page2 = await aliceClient.GetConversationsAsync(page1.NextCursor, limit: 2);
        var last = Assert.Single(page2.Conversations);
        Assert.Equal((withCarol, true, false), (last.ConversationId, last.Muted, last.Pinned));
        Assert.False(page2.HasMore);
        Assert.Empty(page2.NextCursor);
    }

    private static Task<ReadReceipt> Receipt(MqttImClient client)
    {
        var received = new TaskCompletionSource<ReadReceipt>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ReadReceiptReceived += receipt => received.TrySetResult(receipt);
        return received.Task;
    }

    /// <summary>Polls (bounded) until the wall clock, which the broker on this machine stamps messages with, is past <paramref name="serverTimeMs"/>.</summary>
    private static void ClockPassed(long serverTimeMs) =>
        Assert.True(SpinWait.SpinUntil(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > serverTimeMs, TimeSpan.FromSeconds(5)), "the clock did not move");
}
