using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>
/// Pipelined sends (PUBACK = received, inbox send-ack = stored) through a proxy that cuts the sender's connection at
/// seeded random points: the SDK reconnects with back-off, resends by client message id, and nothing is lost or doubled.
/// </summary>
public sealed class PipelinedSendTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Theory]
    [InlineData(11)]
    [InlineData(4242)]
    public async Task ConnectionsCutMidStream_ReceiverGetsEveryMessageExactlyOnceInSeqOrder(int seed)
    {
        const int count = 300;
        const int cuts = 6;
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var proxy = CuttingTcpProxy.Start(fixture.Broker.MqttPort, seed, maxCuts: cuts, minBytesBetweenCuts: 300, maxBytesBetweenCuts: 2500);
        await using var receiver = await fixture.ConnectAsync(bob);
        var sender = await fixture.ConnectAsync(alice, o =>
        {
            o.Port = proxy.Port;
            o.PipelinedSends = true;
            o.SendWindow = 16;
            o.AutoReconnect = true;
            o.ReconnectDelay = TimeSpan.FromMilliseconds(20);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(400);
            o.SendRetryInterval = TimeSpan.FromSeconds(3);
            o.RequestTimeout = TimeSpan.FromSeconds(5);
        });
        await using var _ = sender;
        var reconnects = 0;
        sender.ConnectionChanged += up => Interlocked.Add(ref reconnects, up ? 1 : 0);
        proxy.Arm();

        var sends = Enumerable.Range(1, count).Select(i => sender.SendTextAsync(bob, $"m{i}", clientMsgId: $"p{i}")).ToList();
        var acks = await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.Equal(cuts, proxy.Cuts);
        // A cut can also hit a reconnect's own CONNECT or catch-up, so there are at least as many connections as cuts.
        Assert.True(proxy.Connections > cuts, $"{proxy.Connections} connections for {cuts} cuts");
        Assert.True(Volatile.Read(ref reconnects) >= 1, $"{reconnects} reconnects");
        // Every send got its own seq, the whole range 1..count, however often it was resent.
        Assert.Equal(Streams.Range(1, count), acks.Select(a => a.Seq).Order().ToList());
        Assert.Equal(count, acks.Select(a => a.ClientMsgId).Distinct().Count());

        var received = await receiver.TakeAsync(count, TimeSpan.FromSeconds(60));
        Assert.Equal(Streams.Range(1, count), received.Seqs());
        Assert.Equal(Enumerable.Range(1, count).Select(i => $"m{i}").Order(), received.Select(m => m.Text).Order());
        Assert.All(received, m => Assert.Equal(acks.Single(a => a.Seq == m.Seq).ClientMsgId, m.ClientMsgId));

        // Barrier: a last message after all acks; nothing (no late duplicate) comes between the range and it.
        var marker = await sender.SendTextAsync(bob, "end", clientMsgId: "p-end");
        Assert.Equal(count + 1, marker.Seq);
        var next = Assert.Single(await receiver.TakeAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(("end", count + 1L), (next.Text, next.Seq));
    }

    [Fact]
    public async Task PipelinedSend_CompletesWithTheStoredSeq_AndAResendIsADuplicate()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        await using var receiver = await fixture.ConnectAsync(bob);
        await using var sender = await fixture.ConnectAsync(alice, o => o.PipelinedSends = true);

        var first = await sender.SendTextAsync(bob, "once", clientMsgId: "dup-1");
        var again = await sender.SendTextAsync(bob, "once", clientMsgId: "dup-1");

        Assert.Equal((1L, false), (first.Seq, first.Duplicate));
        Assert.Equal((1L, true), (again.Seq, again.Duplicate));
        Assert.Equal(first.ServerMsgId, again.ServerMsgId);
        Assert.Equal("once", Assert.Single(await receiver.TakeAsync(1)).Text);
    }
}
