using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Read positions, receipts, unread and total unread, also under a concurrent burst.</summary>
public sealed class ReadAndUnreadTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    private static async Task<ReadResponse> ReadAsync(TestDevice device, string conversationId, long seq)
    {
        var id = Guid.NewGuid().ToString("N");
        var response = await device.RpcAsync("read", new ReadRequest { RequestId = id, ConversationId = conversationId, Seq = seq }, id);
        Assert.True(response.ResultCase == RpcResponse.ResultOneofCase.Read, response.ToString());
        return response.Read;
    }

    [Fact]
    public async Task Read_MovesForwardOnly_PeerAndOtherDevicesGetReceipts()
    {
        var (alice, bob) = (TestUsers.Unique("ali"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice);
        await using var bPhone = await TestDevice.ConnectAsync(_broker, bob);
        await using var bDesk = await TestDevice.ConnectAsync(_broker, bob);
        for (var i = 0; i < 5; i++)
        {
            await a.SendAsync(bob, $"m{i}");
        }

        var conversation = TestUsers.C2c(alice, bob);
        var first = await ReadAsync(bPhone, conversation, 3);
        Assert.Equal((3L, 2L, 2L), (first.ReadSeq, first.Unread, first.TotalUnread));
        var back = await ReadAsync(bPhone, conversation, 1);
        Assert.Equal(3, back.ReadSeq);

        var receipt = await a.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.ReadReceipt);
        Assert.Equal((conversation, bob, 3L), (receipt.ReadReceipt.ConversationId, receipt.ReadReceipt.ReaderId, receipt.ReadReceipt.ReadSeq));
        var sync = await bDesk.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.ReadReceipt);
        Assert.Equal(3, sync.ReadReceipt.ReadSeq);

        var stranger = await TestDevice.ConnectAsync(_broker, TestUsers.Unique("eve"));
        await using (stranger)
        {
            var denied = await stranger.RpcAsync("read", new ReadRequest { RequestId = "x", ConversationId = conversation, Seq = 5 }, "x");
            Assert.Equal("not_authorized", denied.Error.Code);
        }
    }

    [Fact]
    public async Task ConcurrentBurst_UnreadAndTotalUnread_AreExact()
    {
        var reader = TestUsers.Unique("rdr");
        var senders = Enumerable.Range(0, 6).Select(i => TestUsers.Unique($"s{i}")).ToArray();
        const int perSender = 40;
        await using var r = await TestDevice.ConnectAsync(_broker, reader, subscribeInbox: false);
        var devices = new List<TestDevice>();
        foreach (var sender in senders)
        {
            devices.Add(await TestDevice.ConnectAsync(_broker, sender, subscribeInbox: false));
        }

        // Senders send while the reader keeps reading whatever it has seen so far.
        var sending = devices.Select(d => Task.Run(async () =>
        {
            for (var i = 0; i < perSender; i++)
            {
                Assert.True((await d.SendAsync(reader, $"{d.UserId} {i}")).IsSuccess);
            }
        })).ToList();
        var readTo = new Dictionary<string, long>();
        var random = new Random(7);
        while (sending.Any(t => !t.IsCompleted))
        {
            var sender = senders[random.Next(senders.Length)];
            var conversation = TestUsers.C2c(sender, reader);
            var seq = readTo.GetValueOrDefault(conversation) + random.Next(1, 6);
            var response = await r.RpcAsync("read", new ReadRequest { RequestId = "b" + seq, ConversationId = conversation, Seq = seq }, "b" + seq);
            if (response.ResultCase == RpcResponse.ResultOneofCase.Read)
            {
                readTo[conversation] = response.Read.ReadSeq;
            }
        }

        await Task.WhenAll(sending);
        foreach (var d in devices)
        {
            await d.DisposeAsync();
        }

        var list = await r.RpcAsync("conversations", new ConversationsRequest { RequestId = "l", Limit = 100 }, "l");
        Assert.Equal(senders.Length, list.Conversations.Conversations.Count);
        foreach (var info in list.Conversations.Conversations)
        {
            Assert.Equal(perSender, info.MaxSeq);
            Assert.Equal(readTo.GetValueOrDefault(info.ConversationId), info.ReadSeq);
            Assert.Equal(perSender - info.ReadSeq, info.Unread);
        }

        Assert.Equal(list.Conversations.Conversations.Sum(c => c.Unread), list.Conversations.TotalUnread);

        // Reading everything brings the total to zero.
        ReadResponse last = new();
        foreach (var info in list.Conversations.Conversations)
        {
            last = await ReadAsync(r, info.ConversationId, long.MaxValue);
        }

        Assert.Equal(0, last.TotalUnread);
    }

    [Fact]
    public async Task SmallGroup_ReadCounts_PerMessage()
    {
        var (owner, bob, carol) = (TestUsers.Unique("own"), TestUsers.Unique("bob"), TestUsers.Unique("car"));
        await using var o = await TestDevice.ConnectAsync(_broker, owner);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);
        await using var c = await TestDevice.ConnectAsync(_broker, carol);
        var create = await o.RpcAsync("group/create", new GroupRequest { RequestId = "c", Name = "rc", UserIds = { bob, carol } }, "c");
        var conversation = $"group:{create.Group.GroupId}";
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await o.PublishAsync($"im/group/{create.Group.GroupId}", o.Encode(new SendRequest { Text = $"q{i}" }))).IsSuccess);
        }

        await ReadAsync(b, conversation, 4);
        await ReadAsync(c, conversation, 2);

        var counts = await o.RpcAsync("read_counts", new ReadCountsRequest { RequestId = "rc", ConversationId = conversation, Seqs = { 2, 3, 4 } }, "rc");
        Assert.Equal(3, counts.ReadCounts.MemberCount);
        Assert.Equal(2, counts.ReadCounts.ReadCounts[2]);
        Assert.Equal(1, counts.ReadCounts.ReadCounts[3]);
        Assert.Equal(1, counts.ReadCounts.ReadCounts[4]);
    }
}
