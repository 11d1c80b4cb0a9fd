using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

public sealed class RecallEditTests() : IAsyncLifetime
{
    private BrokerProcess _broker = null!;

    public async Task InitializeAsync() => _broker = await BrokerProcess.StartAsync("--Chat:ChangeWindow=00:00:03");

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task RecallAndEdit_AreSeqdEvents_ThatASecondDeviceGetsThroughSync()
    {
        var (alice, bob) = (TestUsers.Unique("ali"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);
        await a.SendAsync(bob, "typo heer", "t1");
        await a.SendAsync(bob, "oops, wrong chat", "t2");
        var conversation = TestUsers.C2c(alice, bob);

        var edit = await a.RpcAsync("edit", new ChangeMessageRequest { RequestId = "e", ConversationId = conversation, TargetSeq = 1, Text = "typo here" }, "e");
        var recall = await a.RpcAsync("recall", new ChangeMessageRequest { RequestId = "r", ConversationId = conversation, TargetSeq = 2 }, "r");
        Assert.Equal((MessageKind.Edit, 1L, 3L), (edit.Changed.Kind, edit.Changed.TargetSeq, edit.Changed.Seq));
        Assert.Equal((MessageKind.Recall, 2L, 4L), (recall.Changed.Kind, recall.Changed.TargetSeq, recall.Changed.Seq));

        // Bob's online device gets both changes live...
        var live = new List<ChatMessage>();
        while (live.Count < 4)
        {
            live.Add(await b.NextChatMessageAsync());
        }

        Assert.Equal([MessageKind.Normal, MessageKind.Normal, MessageKind.Edit, MessageKind.Recall], live.Select(m => m.Kind));

        // ...and a device that was offline converges through sync to the same state.
        await using var bobTablet = await TestDevice.ConnectAsync(_broker, bob);
        var events = (await bobTablet.SyncAllAsync())[conversation];
        var view = Apply(events);
        Assert.Equal(["typo here"], view);

        // Only the sender may change a message; the window closes.
        var denied = await b.RpcAsync("edit", new ChangeMessageRequest { RequestId = "d", ConversationId = conversation, TargetSeq = 1, Text = "mine now" }, "d");
        Assert.Equal("not_authorized", denied.Error.Code);
        // The broker's clock closes the window (3 s here): edits of seq 1 are accepted until it answers window_expired.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var attempt = 0; ; attempt++)
        {
            var probe = await a.RpcAsync("edit", new ChangeMessageRequest { RequestId = $"p{attempt}", ConversationId = conversation, TargetSeq = 1, Text = "still mine" }, $"p{attempt}");
            if (probe.Error?.Code == "window_expired")
            {
                break;
            }

            Assert.True(probe.Error is null, $"edit refused for another reason: {probe.Error}");
            Assert.True(attempt < 300 && DateTime.UtcNow < deadline, "the change window never closed");
            await Task.Delay(TimeSpan.FromMilliseconds(100)); // between polls of the broker's answer, bounded above
        }

        var late = await a.RpcAsync("recall", new ChangeMessageRequest { RequestId = "l", ConversationId = conversation, TargetSeq = 1 }, "l");
        Assert.Equal("window_expired", late.Error.Code);
    }

    /// <summary>What a client shows after applying recall/edit events: the visible texts in seq order.</summary>
    private static List<string> Apply(IEnumerable<ChatMessage> events)
    {
        var texts = new SortedDictionary<long, string>();
        foreach (var e in events.OrderBy(e => e.Seq))
        {
            switch (e.Kind)
            {
                case MessageKind.Normal:
                    texts[e.Seq] = e.Text;
                    break;
                case MessageKind.Edit:
                    texts[e.TargetSeq] = e.Text;
                    break;
                case MessageKind.Recall:
                    texts.Remove(e.TargetSeq);
                    break;
            }
        }

        return [.. texts.Values];
    }
}
