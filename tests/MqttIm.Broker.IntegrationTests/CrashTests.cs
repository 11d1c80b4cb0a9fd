using System.Collections.Concurrent;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Acknowledged = durable: SIGKILL the broker mid-stream and find every PUBACKed message after restart.</summary>
public sealed class CrashTests : IAsyncLifetime
{
    private BrokerProcess _broker = null!;

    public async Task InitializeAsync() => _broker = await BrokerProcess.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task Kill9MidStream_EveryAcknowledgedMessageSurvives_SeqsStayContiguous()
    {
        const string receiver = "crashbob";
        var senders = Enumerable.Range(1, 4).Select(i => $"crashalice{i}").ToArray();
        var acked = new ConcurrentDictionary<string, (string Conversation, long Seq)>();
        var devices = new List<TestDevice>();
        foreach (var sender in senders)
        {
            devices.Add(await TestDevice.ConnectAsync(_broker, sender, subscribeInbox: false));
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var enoughAcked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // the kill waits on this, not a poll
        var loops = devices.Select(device => Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                var clientMsgId = $"{device.UserId}-{i}";
                try
                {
                    var result = await device.SendAsync(receiver, $"n{i}", clientMsgId);
                    if (result.IsSuccess)
                    {
                        acked[clientMsgId] = (result.Property("conversation_id")!, long.Parse(result.Property("seq")!));
                        if (acked.Count >= 600)
                        {
                            enoughAcked.TrySetResult();
                        }
                    }
                }
                catch (Exception)
                {
                    return; // the broker is gone
                }
            }
        })).ToList();

        try
        {
            await enoughAcked.Task.WaitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            // the senders ran out of time: kill anyway, the assertions below still hold for what was acknowledged
        }

        await _broker.KillAsync();
        var ackedAtKill = acked.ToDictionary();
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(30));
        foreach (var device in devices)
        {
            await device.DisposeAsync();
        }

        Assert.True(ackedAtKill.Count >= 600, $"only {ackedAtKill.Count} acks before the deadline");

        await _broker.RestartAsync();
        await using var bob = await TestDevice.ConnectAsync(_broker, receiver);
        var stored = await bob.SyncAllAsync(limit: 1000);

        Assert.Equal(senders.Length, stored.Count);
        foreach (var (conversation, messages) in stored)
        {
            Assert.Equal(Enumerable.Range(1, messages.Count).Select(i => (long)i), messages.Select(m => m.Seq));
        }

        var byClientMsgId = stored.Values.SelectMany(m => m).ToDictionary(m => m.ClientMsgId);
        foreach (var (clientMsgId, (conversation, seq)) in acked)
        {
            Assert.True(byClientMsgId.TryGetValue(clientMsgId, out var message), $"acknowledged {clientMsgId} is lost");
            Assert.Equal((conversation, seq), (message!.ConversationId, message.Seq));
        }

        // After the restart each conversation continues right after what the store holds.
        await using var again = await TestDevice.ConnectAsync(_broker, senders[0], subscribeInbox: false);
        var next = await again.SendAsync(receiver, "after restart", "after-restart");
        var conversationOfFirst = stored.Single(kv => kv.Key.Contains(senders[0] + ":", StringComparison.Ordinal) || kv.Key.EndsWith(":" + senders[0], StringComparison.Ordinal));
        Assert.Equal(conversationOfFirst.Value.Count + 1, long.Parse(next.Property("seq")!));
    }
}
