using System.Diagnostics;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;
using Xunit.Abstractions;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 8 item 1: socket completions run inline and SQLite's async calls are synchronous, so an RPC that read the
/// store on the socket thread stalled every connection served by that thread. Store work now runs on its own threads:
/// a client hammering sync and history over 1,000 conversations must leave a control pair's message latency alone.
/// Its own broker (the hammer's data stays out of other tests), not beside other timing-sensitive classes.
/// Latency alone does not tell the two apart on a quiet machine (with the store run inline the control p99 was ~100 ms,
/// offloaded ~15 ms, both under the bound), so the test also counts, from /metrics, the store work the worker threads
/// ran: every hammer RPC must have gone through the read lane.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class StoreOffloadTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Conversations = 1000;
    private const int HammerConnections = 8;
    private const int PipelinedRpcs = 16; // per hammer connection, sent back to back before reading the answers: 128 in flight keep the read lane busy (64 each made the first round outlast the phase deadline on a loaded machine)
    private const int WarmUpMessages = 20;
    private const int ControlMessages = 200;
    private static readonly TimeSpan MinimumBound = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan PhaseDeadline = TimeSpan.FromSeconds(120);

    private BrokerProcess _broker = null!;

    // The hammer publishes as fast as its answers come back: no flood limit in its way; and one sync page holds all of
    // its conversations, so each full sync really walks all 1,000 (sync is cursor-paged, 500 per page by default).
    public async Task InitializeAsync() => _broker = await BrokerProcess.StartAsync(
        "--Moderation:PublishesPerSecond=0", $"--Chat:SyncConversationsPerPage={Conversations}");

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task SyncAndHistoryHammer_OverThousandConversations_KeepsControlPairP99WithinBound()
    {
        var hammerUser = TestUsers.Unique("hammer");
        var peers = Enumerable.Range(0, Conversations).Select(i => TestUsers.Unique($"p{i}x")).ToArray();
        var hammers = new List<TestDevice>();
        try
        {
            for (var i = 0; i < HammerConnections; i++)
            {
                hammers.Add(await TestDevice.ConnectAsync(_broker, hammerUser, protobuf: true));
            }

            // 1,000 conversations with a message each, written from all hammer connections at once (group commits batch them).
            await Task.WhenAll(hammers.Select((h, k) => SendToAllAsync(h, peers.Where((_, i) => i % HammerConnections == k).ToArray())));

            var a = TestUsers.Unique("ctla");
            var b = TestUsers.Unique("ctlb");
            await using var sender = await TestDevice.ConnectAsync(_broker, a, subscribeInbox: false);
            await using var receiver = await TestDevice.ConnectAsync(_broker, b);
            await MeasureAsync(sender, receiver, "warm", WarmUpMessages);
            var baseline = P99(await MeasureAsync(sender, receiver, "base", ControlMessages));

            var executedBefore = await ReadWorkExecutedAsync();
            using var stop = new CancellationTokenSource();
            var started = hammers.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            var hammering = hammers.Select((h, k) => HammerAsync(h, peers, started[k], stop.Token)).ToArray();
            // Every hammer connection has had a full round answered before the control pair is measured.
            // A hammer that fails shows its own assertion here rather than a timeout.
            var firstDone = await Task.WhenAny(Task.WhenAll(started.Select(s => s.Task)), Task.WhenAll(hammering)).WaitAsync(PhaseDeadline);
            await firstDone;
            List<TimeSpan> loaded;
            try
            {
                loaded = await MeasureAsync(sender, receiver, "load", ControlMessages);
            }
            finally
            {
                stop.Cancel();
            }

            var rounds = await Task.WhenAll(hammering);
            var executedOnWorkers = await ReadWorkExecutedAsync() - executedBefore;
            var underLoad = P99(loaded);
            var bound = TimeSpan.FromTicks(Math.Max(baseline.Ticks * 10, MinimumBound.Ticks));
            output.WriteLine($"control p99: baseline {baseline.TotalMilliseconds:F1} ms, under the hammer {underLoad.TotalMilliseconds:F1} ms ({rounds.Sum() * PipelinedRpcs} hammer RPCs)");
            Assert.True(rounds.All(r => r >= 2), $"every hammer connection kept going while the control pair was measured: rounds {string.Join(",", rounds)}");
            Assert.True(executedOnWorkers >= rounds.Sum() * PipelinedRpcs,
                $"only {executedOnWorkers} store reads ran on the store worker threads for {rounds.Sum() * PipelinedRpcs} hammer RPCs: the rest ran on the socket threads");
            Assert.True(underLoad <= bound,
                $"control p99 {underLoad.TotalMilliseconds:F1} ms under the sync/history hammer ({rounds.Sum() * PipelinedRpcs} RPCs over {HammerConnections} connections) " +
                $"exceeds max(10 x baseline p99 {baseline.TotalMilliseconds:F1} ms, {MinimumBound.TotalMilliseconds} ms)");
        }
        finally
        {
            foreach (var hammer in hammers)
            {
                await hammer.DisposeAsync();
            }
        }
    }

    private static async Task SendToAllAsync(TestDevice device, IReadOnlyList<string> peers)
    {
        foreach (var peer in peers)
        {
            var result = await device.SendAsync(peer, $"hello {peer}");
            Assert.True(result.IsSuccess, $"send to {peer}: {result.ReasonCode} {result.ReasonString}");
        }
    }

    /// <summary>One message at a time from sender to receiver: the time from publishing until it arrives, for each message.</summary>
    private static async Task<List<TimeSpan>> MeasureAsync(TestDevice sender, TestDevice receiver, string label, int count)
    {
        var latencies = new List<TimeSpan>(count);
        var phase = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            Assert.True(phase.Elapsed < PhaseDeadline, $"{label}: only {i} of {count} control messages within {PhaseDeadline}");
            var text = $"{label}-{i}";
            var clock = Stopwatch.StartNew();
            var result = await sender.SendAsync(receiver.UserId, text, clientMsgId: text);
            Assert.True(result.IsSuccess, $"{text}: {result.ReasonCode} {result.ReasonString}");
            var message = await receiver.NextChatMessageAsync(TimeSpan.FromSeconds(60));
            latencies.Add(clock.Elapsed);
            Assert.Equal(text, message.Text);
        }

        return latencies;
    }

    /// <summary>
    /// Rounds of <see cref="PipelinedRpcs"/> full syncs and history pages (3 to 1), each round published back to back (QoS 0) and
    /// then all its answers read, until stopped. Returns the rounds completed; the first one signals <paramref name="started"/>.
    /// </summary>
    private async Task<int> HammerAsync(TestDevice device, string[] peers, TaskCompletionSource started, CancellationToken stop)
    {
        var responseTopic = $"inbox/{device.UserId}/rpc";
        var random = new Random(device.ClientId.GetHashCode());
        var rounds = 0;
        for (; rounds < 100_000 && !stop.IsCancellationRequested; rounds++)
        {
            for (var i = 0; i < PipelinedRpcs; i++)
            {
                var id = $"{rounds}-{i}";
                var (method, request) = i % 4 != 3
                    ? ("sync", (Google.Protobuf.IMessage)new SyncRequest { RequestId = id })
                    : ("history", new HistoryRequest { RequestId = id, ConversationId = TestUsers.C2c(device.UserId, peers[random.Next(peers.Length)]) });
                await device.Client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"im/rpc/{method}")
                    .WithPayload(device.Encode(request))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce)
                    .WithResponseTopic(responseTopic)
                    .WithCorrelationData(Encoding.UTF8.GetBytes(id))
                    .Build(), CancellationToken.None);
            }

            for (var answered = 0; answered < PipelinedRpcs;)
            {
                var message = await device.NextAsync(TimeSpan.FromSeconds(120));
                if (message.Topic != responseTopic)
                {
                    continue; // send acks of the setup
                }

                var response = TestDevice.Decode(RpcResponse.Parser, message);
                Assert.True(response.ResultCase != RpcResponse.ResultOneofCase.Error, $"hammer RPC failed: {response.Error}");
                if (response.ResultCase == RpcResponse.ResultOneofCase.Sync)
                {
                    // A full sync lists every conversation: the hammer really walks all 1,000.
                    Assert.Equal(Conversations, response.Sync.Conversations.Count);
                }

                answered++;
            }

            started.TrySetResult();
        }

        return rounds;
    }

    /// <summary>The broker's count of read-lane work items run by its store worker threads.</summary>
    private async Task<double> ReadWorkExecutedAsync()
    {
        using var http = _broker.Http();
        var metrics = await http.GetStringAsync("/metrics");
        var match = System.Text.RegularExpressions.Regex.Match(metrics, @"^mqttim_store_work_executed_total\{kind=""read""\} (\S+)$", System.Text.RegularExpressions.RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private static TimeSpan P99(List<TimeSpan> latencies)
    {
        var sorted = latencies.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(sorted.Count * 0.99) - 1)];
    }
}
