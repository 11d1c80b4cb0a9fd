using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

public sealed class ConversationListTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task Conversations_LatestFirst_PinnedOnTop_Paged_WithFlags()
    {
        var me = TestUsers.Unique("me");
        var peers = Enumerable.Range(0, 4).Select(i => TestUsers.Unique($"p{i}")).ToArray();
        await using var m = await TestDevice.ConnectAsync(_broker, me);
        foreach (var peer in peers)
        {
            await using var p = await TestDevice.ConnectAsync(_broker, peer, subscribeInbox: false);
            var sent = await p.SendAsync(me, $"hello from {peer}");
            // Distinct server timestamps for a deterministic order: wait (bounded) until the clock has passed this one's.
            var stamped = long.Parse(sent.Property("server_time_ms")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(SpinWait.SpinUntil(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > stamped, TimeSpan.FromSeconds(5)));
        }

        string C(string peer) => TestUsers.C2c(me, peer);
        var pin = await m.RpcAsync("conversation/settings", new ConversationSettingsRequest { RequestId = "pin", ConversationId = C(peers[0]), Pinned = true }, "pin");
        Assert.True(pin.Conversation.Pinned);
        var mute = await m.RpcAsync("conversation/settings", new ConversationSettingsRequest { RequestId = "mute", ConversationId = C(peers[2]), Muted = true }, "mute");
        Assert.True(mute.Conversation.Muted);
        Assert.False(mute.Conversation.Pinned);

        var page1 = (await m.RpcAsync("conversations", new ConversationsRequest { RequestId = "p1", Limit = 3 }, "p1")).Conversations;
        var page2 = (await m.RpcAsync("conversations", new ConversationsRequest { RequestId = "p2", Offset = 3, Limit = 3 }, "p2")).Conversations;

        Assert.Equal([C(peers[0]), C(peers[3]), C(peers[2])], page1.Conversations.Select(c => c.ConversationId));
        Assert.True(page1.HasMore);
        Assert.Equal([C(peers[1])], page2.Conversations.Select(c => c.ConversationId));
        Assert.False(page2.HasMore);
        Assert.Equal($"hello from {peers[3]}", page1.Conversations[1].LastMessage.Text);
        Assert.All(page1.Conversations.Concat(page2.Conversations), c => Assert.Equal((1L, 0L, 1L), (c.MaxSeq, c.ReadSeq, c.Unread)));
        Assert.Equal(4, page1.TotalUnread);

        // The cursor pages the same list; a cursor the broker never handed out is refused.
        var byCursor = (await m.RpcAsync("conversations", new ConversationsRequest { RequestId = "p3", Limit = 3, Cursor = page1.NextCursor }, "p3")).Conversations;
        Assert.Equal([C(peers[1])], byCursor.Conversations.Select(c => c.ConversationId));
        Assert.Equal(("", false, 4L), (byCursor.NextCursor, byCursor.HasMore, byCursor.TotalUnread));
        var bad = await m.RpcAsync("conversations", new ConversationsRequest { RequestId = "p4", Cursor = "not-a-cursor" }, "p4");
        Assert.Equal("invalid_request", bad.Error.Code);
    }
}
