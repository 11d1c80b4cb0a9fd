using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

public sealed class ChatFlowTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    public static TheoryData<Transport, MqttProtocolVersion, bool> Transports => new()
    {
        { Transport.Tcp, MqttProtocolVersion.V500, false },
        { Transport.Tcp, MqttProtocolVersion.V311, false },
        { Transport.WebSocket, MqttProtocolVersion.V500, false },
        { Transport.WebSocket, MqttProtocolVersion.V311, false },
        { Transport.Tcp, MqttProtocolVersion.V500, true },
    };

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task TwoUsers_Exchange_SeqsContiguousAndInOrder(Transport transport, MqttProtocolVersion version, bool protobuf)
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice, version: version, transport: transport, protobuf: protobuf);
        await using var b = await TestDevice.ConnectAsync(_broker, bob, version: version, transport: transport, protobuf: protobuf);

        for (var i = 1; i <= 10; i++)
        {
            var (from, to) = i % 3 == 0 ? (b, alice) : (a, bob);
            var result = await from.SendAsync(to, $"msg {i}", $"c{i}");
            Assert.True(result.IsSuccess, $"send {i}: {result.ReasonCode} {result.ReasonString}");
            if (version == MqttProtocolVersion.V500)
            {
                Assert.Equal(i.ToString(), result.Property("seq"));
            }
        }

        // Each side receives the other side's messages, all in seq order; a 3.1.1 sender also gets an inbox ack for each of
        // its own, an MQTT 5 sender does not (its PUBACK carried the seq). Acks are fanned out in commit order, so by the
        // time Bob's seq 9 reaches Alice every ack of her earlier sends would have arrived before it.
        var aliceSeesFromBob = new List<long>();
        var aliceAcks = new List<long>();
        var expectedAcks = version == MqttProtocolVersion.V500 ? 0 : 7;
        while (aliceSeesFromBob.Count < 3 || aliceAcks.Count < expectedAcks)
        {
            var evt = await a.NextEventAsync();
            if (evt.EventCase == InboxEvent.EventOneofCase.Message)
            {
                Assert.Equal(bob, evt.Message.SenderId);
                aliceSeesFromBob.Add(evt.Message.Seq);
            }
            else
            {
                Assert.Equal(InboxEvent.EventOneofCase.SendAck, evt.EventCase);
                aliceAcks.Add(evt.SendAck.Seq);
            }
        }

        Assert.Equal([3L, 6, 9], aliceSeesFromBob);
        Assert.Equal(version == MqttProtocolVersion.V500 ? [] : [1L, 2, 4, 5, 7, 8, 10], aliceAcks);

        var bobSees = new List<ChatMessage>();
        while (bobSees.Count < 7)
        {
            bobSees.Add(await b.NextChatMessageAsync());
        }

        Assert.Equal([1L, 2, 4, 5, 7, 8, 10], bobSees.Select(m => m.Seq));
        Assert.All(bobSees, m => Assert.Equal(TestUsers.C2c(alice, bob), m.ConversationId));
        Assert.Equal("msg 10", bobSees[^1].Text);
    }

    [Fact]
    public async Task Resend_SameClientMsgId_SameSeqAndOneStoredCopy()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);

        var first = await a.SendAsync(bob, "once", "dup-1");
        var again = await a.SendAsync(bob, "once", "dup-1");
        var next = await a.SendAsync(bob, "twice", "dup-2");

        Assert.Equal("1", first.Property("seq"));
        Assert.Equal("false", first.Property("duplicate"));
        Assert.Equal("1", again.Property("seq"));
        Assert.Equal("true", again.Property("duplicate"));
        Assert.Equal("2", next.Property("seq"));

        // The peer got one copy only, and the store holds one.
        Assert.Equal(1, (await b.NextChatMessageAsync()).Seq);
        Assert.Equal(2, (await b.NextChatMessageAsync()).Seq);
        var stored = (await b.SyncAllAsync())[TestUsers.C2c(alice, bob)];
        Assert.Equal([1L, 2], stored.Select(m => m.Seq));
        Assert.Equal(["dup-1", "dup-2"], stored.Select(m => m.ClientMsgId));
    }

    [Fact]
    public async Task SendersOtherDevice_GetsTheMessage_SendingDeviceGetsAck()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        // An MQTT 5 device gets the inbox send-ack only on request (CONNECT user property send_ack=inbox).
        await using var phone = await TestDevice.ConnectAsync(_broker, alice, clientId: alice + "-phone",
            connectProperties: new Dictionary<string, string> { ["send_ack"] = "inbox" });
        await using var desktop = await TestDevice.ConnectAsync(_broker, alice, clientId: alice + "-desktop", version: MqttProtocolVersion.V311);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);

        await phone.SendAsync(bob, "from my phone", "p1");

        var copy = await desktop.NextChatMessageAsync();
        Assert.Equal("from my phone", copy.Text);
        Assert.Equal(alice + "-phone", copy.SenderDevice);
        var ack = await phone.NextEventAsync();
        Assert.Equal(InboxEvent.EventOneofCase.SendAck, ack.EventCase);
        Assert.Equal(("p1", 1L), (ack.SendAck.ClientMsgId, ack.SendAck.Seq));
        Assert.Null(await phone.TryNextAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal("from my phone", (await b.NextChatMessageAsync()).Text);
    }

    [Fact]
    public async Task Mqtt5Sender_GetsTheSeqInThePubAck_AndNoInboxSendAck()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);

        var sent = await a.SendAsync(bob, "hello", "n1");
        Assert.Equal("1", sent.Property("seq"));
        Assert.Equal(TestUsers.C2c(alice, bob), sent.Property("conversation_id"));
        Assert.Equal("1", (await b.NextChatMessageAsync()).Seq.ToString());

        // Barrier: Bob's reply is committed after Alice's send, and fan-out runs in commit order, so a send-ack for n1
        // would reach Alice's inbox before this reply does.
        Assert.True((await b.SendAsync(alice, "hi back", "n2")).IsSuccess);
        var next = await a.NextEventAsync();
        Assert.Equal(InboxEvent.EventOneofCase.Message, next.EventCase);
        Assert.Equal("hi back", next.Message.Text);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task OfflineDevice_CatchesUpThroughSync_InSeqOrder_Paged(MqttProtocolVersion version)
    {
        var (alice, bob, carol) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"), TestUsers.Unique("carol"));
        await using (var a = await TestDevice.ConnectAsync(_broker, alice))
        await using (var c = await TestDevice.ConnectAsync(_broker, carol))
        {
            for (var i = 0; i < 23; i++)
            {
                Assert.True((await a.SendAsync(bob, $"a{i}", $"a{i}")).IsSuccess);
                if (i % 2 == 0)
                {
                    Assert.True((await c.SendAsync(bob, $"c{i}", $"c{i}")).IsSuccess);
                }
            }
        }

        // Bob was never online: he pulls everything, 5 messages a page.
        await using var b = await TestDevice.ConnectAsync(_broker, bob, version: version);
        var all = await b.SyncAllAsync(limit: 5);

        Assert.Equal(Enumerable.Range(1, 23).Select(i => (long)i), all[TestUsers.C2c(alice, bob)].Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), all[TestUsers.C2c(bob, carol)].Select(m => m.Seq));
        Assert.Equal("a22", all[TestUsers.C2c(alice, bob)][^1].Text);

        // A second sync from the end cursors returns nothing new.
        var cursors = all.ToDictionary(kv => kv.Key, kv => kv.Value[^1].Seq);
        var rest = await b.SyncAllAsync(cursors);
        Assert.All(rest.Values, list => Assert.Empty(list));

        // A sync limited to one conversation (filling one gap) returns only that one.
        var one = new SyncRequest { RequestId = "one", Cursors = { [TestUsers.C2c(bob, carol)] = 10 }, ConversationIds = { TestUsers.C2c(bob, carol) } };
        var response = await b.RpcAsync("sync", one, "one");
        var only = Assert.Single(response.Sync.Conversations);
        Assert.Equal([11L, 12], only.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task History_PagesBackwardsFromNewest()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice);
        for (var i = 1; i <= 12; i++)
        {
            await a.SendAsync(bob, $"h{i}");
        }

        var conversation = TestUsers.C2c(alice, bob);
        var newest = await a.RpcAsync("history", new HistoryRequest { RequestId = "h1", ConversationId = conversation, Limit = 5 }, "h1");
        Assert.Equal([8L, 9, 10, 11, 12], newest.History.Messages.Select(m => m.Seq));
        Assert.True(newest.History.HasMore);

        var oldest = await a.RpcAsync("history", new HistoryRequest { RequestId = "h2", ConversationId = conversation, BeforeSeq = 3, Limit = 5 }, "h2");
        Assert.Equal([1L, 2], oldest.History.Messages.Select(m => m.Seq));
        Assert.False(oldest.History.HasMore);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task InvalidPayload_IsRefused_WithReasonAndSendError(MqttProtocolVersion version)
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice, version: version);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);

        var result = await a.PublishAsync($"im/c2c/{bob}", System.Text.Encoding.UTF8.GetBytes("{\"txt\":\"typo\"}"));

        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, result.ReasonCode);
            Assert.Contains("txt", result.ReasonString);
            Assert.Equal("invalid_payload", result.Property("code"));
        }

        var error = await a.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.SendError);
        Assert.Equal("invalid_payload", error.SendError.Code);
        Assert.Null(await b.TryNextAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task EmptyMessage_AndOversizedPayload_AreRefused()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice);

        var empty = await a.SendAsync(bob, new SendRequest { ClientMsgId = "e1" });
        var huge = await a.SendAsync(bob, new SendRequest { Text = new string('x', 70_000) });

        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, empty.ReasonCode);
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.QuotaExceeded, huge.ReasonCode);
        Assert.True(a.Client.IsConnected);
        var ok = await a.SendAsync(bob, "still fine");
        Assert.Equal("1", ok.Property("seq"));
    }

    [Fact]
    public async Task PersistentSession_ResumedWithoutResubscribing_StillGetsInboxEvents()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        var clientId = bob + "-persistent";
        var options = TestDevice.Options(_broker, bob, _broker.Token(bob), clientId).WithCleanSession(false).WithSessionExpiryInterval(300).Build();
        var received = new List<string>();
        var client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ApplicationMessageReceivedAsync += e =>
        {
            got.TrySetResult(e.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };
        await client.ConnectAsync(options);
        await client.SubscribeAsync($"inbox/{bob}", MqttQualityOfServiceLevel.AtLeastOnce);
        await client.DisconnectAsync();

        var resumed = await client.ConnectAsync(options);
        Assert.True(resumed.IsSessionPresent);
        await using var a = await TestDevice.ConnectAsync(_broker, alice);
        await a.SendAsync(bob, "after resume");

        Assert.Equal($"inbox/{bob}", await got.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await client.DisconnectAsync();
        client.Dispose();
    }

    [Fact]
    public async Task WildcardSubscriber_SeesPlainTopics_NeverInboxTraffic()
    {
        var (alice, bob, eve) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"), TestUsers.Unique("eve"));
        await using var snooper = await TestDevice.ConnectAsync(_broker, eve, subscribeInbox: false);
        await snooper.Client.SubscribeAsync("#");
        await using var a = await TestDevice.ConnectAsync(_broker, alice);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);

        await a.SendAsync(bob, "private");
        await b.NextChatMessageAsync();
        await a.PublishAsync("public/news", [1, 2, 3]);

        var seen = await snooper.NextAsync();
        Assert.Equal("public/news", seen.Topic);
        Assert.Null(await snooper.TryNextAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Takeover_SameClientId_NewConnectionGetsDelivery()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var first = await TestDevice.ConnectAsync(_broker, bob, clientId: bob + "-phone");
        await using var second = await TestDevice.ConnectAsync(_broker, bob, clientId: bob + "-phone");
        await using var a = await TestDevice.ConnectAsync(_broker, alice);

        await a.SendAsync(bob, "to the new connection");

        Assert.Equal("to the new connection", (await second.NextChatMessageAsync()).Text);
        Assert.False(first.Client.IsConnected);
    }

}
