using MQTTnet;
using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Sending and receiving between SDK clients over real sockets to the real broker.</summary>
public sealed class MessagingTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Fact]
    public async Task MessagesArriveAtThePeerAndTheSendersOtherDeviceInSeqOrder()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var aliceTablet = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        const int count = 20;

        var acks = new List<SendAck>();
        for (var i = 1; i <= 10; i++)
        {
            acks.Add(await aliceClient.SendTextAsync(bob, $"hello {i}"));
        }

        // A package of several messages keeps its order: consecutive seqs after the single sends.
        acks.AddRange(await aliceClient.SendBatchAsync(bob, Enumerable.Range(11, 10).Select(i => new SendRequest { Text = $"hello {i}" })));

        Assert.Equal(Streams.Range(1, count), acks.Select(a => a.Seq).ToList());
        var conversation = ConversationIds.C2c(alice, bob);
        foreach (var receiver in new[] { bobClient, aliceTablet, aliceClient })
        {
            var received = await receiver.TakeAsync(count);
            Assert.Equal(Streams.Range(1, count), received.Seqs());
            Assert.All(received, m => Assert.Equal(conversation, m.ConversationId));
            Assert.All(received, m => Assert.Equal(alice, m.SenderId));
            Assert.All(received, m => Assert.Equal(bob, m.RecipientId));
            Assert.Equal(Enumerable.Range(1, count).Select(i => $"hello {i}"), received.Select(m => m.Text));
            Assert.Equal(acks.Select(a => a.ServerMsgId), received.Select(m => m.ServerMsgId));
            Assert.Equal(count, receiver.Cursors[conversation]);
        }

        // Replies land in the same conversation after alice's messages.
        var reply = await bobClient.SendTextAsync(alice, "hi alice");
        Assert.Equal(count + 1, reply.Seq);
        var replyAtAlice = Assert.Single(await aliceClient.TakeAsync(1));
        Assert.Equal(("hi alice", bob, count + 1L), (replyAtAlice.Text, replyAtAlice.SenderId, replyAtAlice.Seq));
    }

    [Fact]
    public async Task SendAckIsReadFromThePubAck()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var ack = await aliceClient.SendTextAsync(bob, "ack me", clientMsgId: "cm-ack-1");

        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.Equal("cm-ack-1", ack.ClientMsgId);
        Assert.Equal(ConversationIds.C2c(alice, bob), ack.ConversationId);
        Assert.Equal(1, ack.Seq);
        Assert.False(string.IsNullOrEmpty(ack.ServerMsgId));
        Assert.InRange(ack.ServerTimeMs, before - 5_000, after + 5_000);
        Assert.False(ack.Duplicate);

        var received = Assert.Single(await bobClient.TakeAsync(1));
        Assert.Equal((ack.ServerMsgId, ack.ServerTimeMs, "cm-ack-1", aliceClient.DeviceId),
            (received.ServerMsgId, received.ServerTimeMs, received.ClientMsgId, received.SenderDevice));
    }

    [Fact]
    public async Task ResendWithTheSameClientMsgIdReturnsTheFirstSeqAndStoresNothing()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);

        var first = await aliceClient.SendTextAsync(bob, "once", "cm-idem-1");
        var other = await aliceClient.SendTextAsync(bob, "other", "cm-idem-2");
        var resent = await aliceClient.SendTextAsync(bob, "once", "cm-idem-1");
        var request = new SendRequest { Text = "auto id" };
        var auto = await aliceClient.SendAsync(bob, request);
        var autoAgain = await aliceClient.SendAsync(bob, request);

        Assert.Equal((1L, false), (first.Seq, first.Duplicate));
        Assert.Equal((2L, false), (other.Seq, other.Duplicate));
        Assert.Equal((1L, true), (resent.Seq, resent.Duplicate));
        Assert.Equal(first.ServerMsgId, resent.ServerMsgId);
        Assert.False(string.IsNullOrEmpty(request.ClientMsgId), "the SDK assigns a client message id to the request");
        Assert.Equal((3L, false), (auto.Seq, auto.Duplicate));
        Assert.Equal((3L, true), (autoAgain.Seq, autoAgain.Duplicate));

        // Bob sees each stored message once; the next new message is seq 4, so nothing was stored twice.
        var marker = await aliceClient.SendTextAsync(bob, "marker");
        Assert.Equal(4, marker.Seq);
        var received = await bobClient.TakeAsync(4);
        Assert.Equal([1L, 2L, 3L, 4L], received.Seqs());
        Assert.Equal(["once", "other", "auto id", "marker"], received.Select(m => m.Text));
        Assert.Equal([1L, 2L, 3L, 4L], (await aliceClient.TakeAsync(4)).Seqs());
    }

    [Fact]
    public async Task RefusedSendsThrowWithTheReasonCode()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice);

        var empty = await Assert.ThrowsAsync<MqttImSendException>(() => aliceClient.SendAsync(bob, new SendRequest { ClientMsgId = "cm-empty" }));
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, empty.ReasonCode);
        Assert.Equal("invalid_payload", empty.Code);
        Assert.Equal("cm-empty", empty.ClientMsgId);
        Assert.Contains("text or data", empty.ReasonString);

        var huge = await Assert.ThrowsAsync<MqttImSendException>(() => aliceClient.SendTextAsync(bob, new string('x', 70 * 1024)));
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, huge.ReasonCode);
        Assert.Equal("payload_too_large", huge.Code);

        var badPeer = await Assert.ThrowsAsync<MqttImSendException>(() => aliceClient.SendTextAsync("not a user id!", "hi"));
        Assert.Equal(MqttClientPublishReasonCode.TopicNameInvalid, badPeer.ReasonCode);

        // The connection survives refusals and nothing was stored: the next send is seq 1.
        Assert.Equal(1, (await aliceClient.SendTextAsync(bob, "fine")).Seq);
    }

    [Fact]
    public async Task WebSocketClientTalksToTcpClient()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice,
            o => o.WebSocketUri = new Uri($"ws://127.0.0.1:{fixture.Broker.HttpPort}/mqtt"));
        await using var bobClient = await fixture.ConnectAsync(bob);

        Assert.Equal(1, (await aliceClient.SendTextAsync(bob, "over websocket")).Seq);
        Assert.Equal(2, (await bobClient.SendTextAsync(alice, "over tcp")).Seq);

        Assert.Equal(["over websocket", "over tcp"], (await aliceClient.TakeAsync(2)).Select(m => m.Text));
        Assert.Equal(["over websocket", "over tcp"], (await bobClient.TakeAsync(2)).Select(m => m.Text));
    }

    [Fact]
    public async Task Mqtt311ClientGetsAcksRefusalsAndSyncThroughItsInbox()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var aliceClient = await fixture.ConnectAsync(alice, o => o.ProtocolVersion = MQTTnet.Formatter.MqttProtocolVersion.V311);
        await using var bobClient = await fixture.ConnectAsync(bob);

        var first = await aliceClient.SendTextAsync(bob, "from 3.1.1", "cm-311-1");
        var again = await aliceClient.SendTextAsync(bob, "from 3.1.1", "cm-311-1");
        Assert.Equal((1L, false, ConversationIds.C2c(alice, bob)), (first.Seq, first.Duplicate, first.ConversationId));
        Assert.Equal((1L, true), (again.Seq, again.Duplicate));

        var refused = await Assert.ThrowsAsync<MqttImSendException>(() => aliceClient.SendAsync(bob, new SendRequest { ClientMsgId = "cm-311-empty" }));
        Assert.Equal(("invalid_payload", MqttClientPublishReasonCode.PayloadFormatInvalid), (refused.Code, refused.ReasonCode));

        await bobClient.SendTextAsync(alice, "to 3.1.1");
        Assert.Equal(["from 3.1.1", "to 3.1.1"], (await aliceClient.TakeAsync(2)).Select(m => m.Text));

        var synced = Assert.Single(await aliceClient.SyncAsync());
        Assert.Equal([1L, 2L], synced.Messages.Seqs());
        Assert.Equal(2, synced.MaxSeq);
    }
}
