using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>
/// chat (MqttIm only): U users online, each subscribed to <c>inbox/{user}</c>; A sender→receiver pairs send 1:1
/// messages (QoS 1, JSON) to <c>im/c2c/{peer}</c>; the rest are idle. Measures PUBACKed msgs/s and publish→inbox latency,
/// at a fixed offered rate and flat out, then checks nothing was lost (seqs contiguous, and the sync RPC's maxSeq).
/// </summary>
/// <summary>
/// One chat run's shape: pairs, sending devices per sender, messages in flight per device, the offered rates (null =
/// flat out) and the row's scenario name.
/// </summary>
public sealed record ChatShape(string Scenario, int Pairs, int Devices, int Window, double?[] Rates, double WarmupSeconds)
{
    /// <summary>The original chat rows: few pairs, many devices and sends in flight per sender (commits batch).</summary>
    public static ChatShape Batched(BenchOptions o) => new("chat", o.ChatPairs, o.ChatDevices, o.ChatWindow, [o.ChatRate, null], o.WarmupSeconds);

    /// <summary>Many connections each carrying a little: N pairs of users × 1 device × 1 in flight, flat out.</summary>
    public static ChatShape ManyPairs(BenchOptions o) => new("chat-many", o.ManyPairs, 1, 1, [null], Math.Max(o.ManyWarmupSeconds, o.WarmupSeconds));
}

public static class ChatScenario
{
    /// <summary>The chat scenario at the small and the large population (idle users connected and subscribed).</summary>
    public static async Task RunPopulationsAsync(BenchRun run)
    {
        foreach (var users in new[] { run.Options.ChatSmallUsers, run.Options.ChatLargeUsers }.Distinct())
        {
            await run.GuardedAsync("chat", "MqttIm", Fmt.Inv($"U={users:N0}"), () => RunAsync(run.BrokerDll, users, run.Options, run.Emit, ChatShape.Batched(run.Options))).ConfigureAwait(false);
        }
    }

    private sealed class ChatPair(int index)
    {
        public readonly string Sender = $"s{index}";
        public readonly string Receiver = $"r{index}";
        public readonly Lock Gate = new();
        public readonly HashSet<long> Seqs = [];
        public string? ConversationId;
        public long AcceptedTotal;
        public long AcceptedRun;
        public long ReceivedRun;
        public long Duplicates;
        public TaskCompletionSource<JsonDocument>? SyncResponse;
    }

    public static async Task RunAsync(string brokerDll, int users, BenchOptions o, Action<ResultRow> emit, ChatShape shape)
    {
        await using var broker = await MqttImBroker.StartAsync(brokerDll).ConfigureAwait(false);
        var pairs = Enumerable.Range(0, shape.Pairs).Select(k => new ChatPair(k)).ToArray();
        users = Math.Max(users, 2 * pairs.Length);
        var idle = users - 2 * pairs.Length;
        var runState = new RunState();

        var connectWatch = Stopwatch.StartNew();
        var idleClients = await Clients.ConnectManyAsync(broker, idle, o.ConnectConcurrency,
            i => ($"idle{i}", $"idle{i}-phone", $"inbox/idle{i}"), null, TimeSpan.FromMinutes(4)).ConfigureAwait(false);
        var idleSeconds = connectWatch.Elapsed.TotalSeconds;
        var receivers = await Clients.ConnectManyAsync(broker, pairs.Length, 50,
            k => (pairs[k].Receiver, pairs[k].Receiver + "-phone", $"inbox/{pairs[k].Receiver}"),
            k => args => OnReceiverMessage(pairs[k], runState, args), TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        long sendAcks = 0;
        // Device 0 of each sender is on its inbox (gets the send-acks and, as multi-device sync, copies of what the
        // user's other devices send); devices 1.. only send.
        var devices = shape.Devices;
        var senders = await Clients.ConnectManyAsync(broker, pairs.Length * devices, 50,
            i => (pairs[i / devices].Sender, $"{pairs[i / devices].Sender}-d{i % devices}", i % devices == 0 ? $"inbox/{pairs[i / devices].Sender}" : null),
            _ => _ =>
            {
                Interlocked.Increment(ref sendAcks);
                return Task.CompletedTask;
            },
            TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        Log.Info(Fmt.Inv($"  chat U={users:N0}: {idle:N0} idle + {2 * pairs.Length} active users connected in {connectWatch.Elapsed.TotalSeconds:F1} s"));

        try
        {
            foreach (var rate in shape.Rates)
            {
                var row = await RunOnceAsync(broker, users, idle, pairs, senders, runState, rate, o, shape).ConfigureAwait(false);
                if (rate is not null && idle > 0)
                {
                    row = row with { Notes = row.Notes + Fmt.Inv($"; {idle:N0} idle users connected+subscribed in {idleSeconds:F1} s") };
                }

                emit(row);
            }

            var check = await VerifyAsync(pairs, receivers).ConfigureAwait(false);
            Log.Info($"  chat U={users:N0}: {check}");
            emit(new ResultRow(shape.Scenario, broker.Name, Fmt.Inv($"U={users:N0}: end-of-run check over both runs"), "–", "–", "–", "–", check, double.NaN, double.NaN, 0, broker.ResidentBytes()));
        }
        finally
        {
            await broker.DisposeAsync().ConfigureAwait(false);
            await Clients.DisposeAllAsync([.. senders, .. receivers, .. idleClients], disconnect: false).ConfigureAwait(false);
        }
    }

    private sealed class RunState
    {
        public RunClock? Clock;
        public readonly LatencyHistogram EndToEnd = new();
        public long MeasuredDeliveries;

        public void Reset(RunClock clock)
        {
            Clock = clock;
        }
    }

    private static async Task<ResultRow> RunOnceAsync(
        MqttImBroker broker, int users, int idle, ChatPair[] pairs, IMqttClient[] senders, RunState shared, double? rate, BenchOptions o, ChatShape shape)
    {
        var state = new RunState();
        var ackLatency = new LatencyHistogram();
        long measuredAccepts = 0, rejected = 0, nextIndex = -1;
        string? firstRejection = null;
        foreach (var pair in pairs)
        {
            pair.AcceptedRun = 0;
            Interlocked.Exchange(ref pair.ReceivedRun, 0);
        }

        var runId = Guid.NewGuid().ToString("N")[..8];
        var clock = new RunClock(shape.WarmupSeconds, o.MeasureSeconds);
        lock (shared)
        {
            shared.Clock = clock;
            Current = state;
        }

        var stop = 0;
        var workers = new List<Task>();
        for (var d = 0; d < senders.Length; d++)
        {
            var pair = pairs[d / shape.Devices];
            var client = senders[d];
            var topic = $"im/c2c/{pair.Receiver}";
            for (var w = 0; w < shape.Window; w++)
            {
                workers.Add(Task.Run(async () =>
                {
                    while (Volatile.Read(ref stop) == 0)
                    {
                        var index = Interlocked.Increment(ref nextIndex);
                        if (rate is { } r)
                        {
                            await RunClock.DelayUntil(clock.Start + (long)(index * Stopwatch.Frequency / r)).ConfigureAwait(false);
                            if (Volatile.Read(ref stop) != 0)
                            {
                                break;
                            }
                        }

                        var sentAt = Stopwatch.GetTimestamp();
                        var payload = Encoding.UTF8.GetBytes(
                            $"{{\"text\":\"ts={sentAt.ToString(CultureInfo.InvariantCulture)} bench message\",\"clientMsgId\":\"{runId}-{index.ToString(CultureInfo.InvariantCulture)}\"}}");
                        MqttClientPublishResult result;
                        try
                        {
                            result = await client.PublishAsync(new MqttApplicationMessage
                            {
                                Topic = topic,
                                PayloadSegment = payload,
                                QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                                ContentType = "application/json",
                            }).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
                        {
                            Interlocked.Increment(ref rejected);
                            firstRejection ??= ex.Message;
                            continue;
                        }

                        var now = Stopwatch.GetTimestamp();
                        if (result.ReasonCode == MqttClientPublishReasonCode.Success)
                        {
                            Interlocked.Increment(ref pair.AcceptedRun);
                            Interlocked.Increment(ref pair.AcceptedTotal);
                            if (clock.InWindow(now))
                            {
                                Interlocked.Increment(ref measuredAccepts);
                                ackLatency.RecordTicks(now - sentAt);
                            }
                        }
                        else
                        {
                            Interlocked.Increment(ref rejected);
                            firstRejection ??= $"{result.ReasonCode} {result.ReasonString}";
                        }
                    }
                }));
            }
        }

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(workers).ConfigureAwait(false);
        await RelayScenario.DrainAsync(() => pairs.Sum(p => Math.Max(0, Interlocked.Read(ref p.AcceptedRun) - Interlocked.Read(ref p.ReceivedRun))), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var lost = pairs.Sum(p => Math.Max(0, Interlocked.Read(ref p.AcceptedRun) - Interlocked.Read(ref p.ReceivedRun)));
        var accepted = measuredAccepts / clock.MeasureSeconds;
        var e2e = state.EndToEnd;
        var settings = Fmt.Inv($"U={users:N0} online ({2 * pairs.Length} active in {pairs.Length} pairs, {idle:N0} idle), QoS 1 JSON, {(rate is { } rr ? $"offered {rr:N0} msg/s" : "flat out")}, {shape.Devices} device{(shape.Devices == 1 ? "" : "s")}/sender × {shape.Window} in flight, {shape.WarmupSeconds:F0} s warm-up");
        var notes = Fmt.Inv($"broker {RelayScenario.PerMessage(cpu.BrokerCpu, measuredAccepts)}/msg; PUBACK p50/p99 {Fmt.Ms(ackLatency.Percentile(50))}/{Fmt.Ms(ackLatency.Percentile(99))}; not delivered live within 10 s {lost} (see the end-of-run check); {Interlocked.Read(ref state.MeasuredDeliveries) / clock.MeasureSeconds:N0} inbox deliveries/s");
        if (rejected > 0)
        {
            notes += Fmt.Inv($"; {rejected} rejected ({firstRejection})");
        }

        return new ResultRow(shape.Scenario, broker.Name, settings, Fmt.Rate(accepted, "msg/s"),
            Fmt.Ms(e2e.Percentile(50)), Fmt.Ms(e2e.Percentile(99)), Fmt.Ms(e2e.MaxMicros), notes,
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = accepted, Secondary = e2e.Percentile(99), OtherCpuSeconds = cpu.OtherCpu, CpuMicrosPerMessage = RelayScenario.CpuMicros(cpu.BrokerCpu, measuredAccepts), P99Micros = e2e.Percentile(99) };
    }

    // The run whose latencies receivers record (one run at a time).
    private static RunState? Current;

    private static Task OnReceiverMessage(ChatPair pair, RunState shared, MqttApplicationMessageReceivedEventArgs args)
    {
        var now = Stopwatch.GetTimestamp();
        var message = args.ApplicationMessage;
        if (message.Topic.EndsWith("/rpc", StringComparison.Ordinal))
        {
            pair.SyncResponse?.TrySetResult(JsonDocument.Parse(message.Payload.ToArray()));
            return Task.CompletedTask;
        }

        if (!InboxJson.TryReadMessage(message.Payload, out var conversationId, out var seq, out var text))
        {
            return Task.CompletedTask;
        }

        var sentAt = InboxJson.SentAt(text);

        bool fresh;
        lock (pair.Gate)
        {
            pair.ConversationId ??= conversationId;
            fresh = pair.Seqs.Add(seq);
        }

        if (!fresh)
        {
            Interlocked.Increment(ref pair.Duplicates);
            return Task.CompletedTask;
        }

        Interlocked.Increment(ref pair.ReceivedRun);
        var run = Current;
        var clock = shared.Clock;
        if (run is not null && clock is not null && clock.InWindow(now) && sentAt > 0)
        {
            run.EndToEnd.RecordTicks(now - sentAt);
            Interlocked.Increment(ref run.MeasuredDeliveries);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Per pair: the sync RPC reports maxSeq = N, the PUBACKs the sender got (nothing acknowledged is lost), and the receiver
    /// got seqs 1..N live — except messages its full queue dropped (a slow consumer; devices pull those with sync), which
    /// are counted, not treated as loss. Waits first (bounded) until live deliveries stop arriving, so nothing still in
    /// flight is miscounted.
    /// </summary>
    private static async Task<string> VerifyAsync(ChatPair[] pairs, IMqttClient[] receivers)
    {
        await WaitForDeliveriesToSettleAsync(pairs).ConfigureAwait(false);
        var problems = new List<string>();
        long total = 0, duplicates = 0, droppedLive = 0;
        for (var k = 0; k < pairs.Length; k++)
        {
            var pair = pairs[k];
            total += pair.AcceptedTotal;
            duplicates += Interlocked.Read(ref pair.Duplicates);
            long[] seqs;
            lock (pair.Gate)
            {
                seqs = [.. pair.Seqs];
            }

            Array.Sort(seqs);
            if (seqs.Length > 0 && (seqs[^1] > pair.AcceptedTotal || seqs[0] < 1))
            {
                problems.Add(Fmt.Inv($"{pair.Receiver}: seqs outside 1..{pair.AcceptedTotal}"));
            }

            droppedLive += pair.AcceptedTotal - seqs.Length;

            pair.SyncResponse = new TaskCompletionSource<JsonDocument>(TaskCreationOptions.RunContinuationsAsynchronously);
            var request = new MqttApplicationMessage
            {
                Topic = "im/rpc/sync",
                PayloadSegment = Encoding.UTF8.GetBytes("{\"requestId\":\"r1\"}"),
                QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                ContentType = "application/json",
                ResponseTopic = $"inbox/{pair.Receiver}/rpc",
                CorrelationData = Encoding.UTF8.GetBytes("bench-" + k),
            };
            await receivers[k].PublishAsync(request).ConfigureAwait(false);
            try
            {
                using var doc = await pair.SyncResponse.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                long maxSeq = -1;
                if (doc.RootElement.TryGetProperty("sync", out var sync) && sync.TryGetProperty("conversations", out var conversations))
                {
                    foreach (var c in conversations.EnumerateArray())
                    {
                        if (c.GetProperty("conversationId").GetString() == pair.ConversationId && c.TryGetProperty("maxSeq", out var m))
                        {
                            maxSeq = m.ValueKind == JsonValueKind.String ? long.Parse(m.GetString()!, CultureInfo.InvariantCulture) : m.GetInt64();
                        }
                    }
                }

                if (maxSeq != pair.AcceptedTotal)
                {
                    problems.Add(Fmt.Inv($"{pair.Receiver}: sync maxSeq {maxSeq} ≠ {pair.AcceptedTotal} acked"));
                }
            }
            catch (TimeoutException)
            {
                problems.Add($"{pair.Receiver}: no sync response");
            }
        }

        var live = droppedLive == 0
            ? "all arrived live, seqs 1..N contiguous"
            : Fmt.Inv($"{total - droppedLive:N0} arrived live, {droppedLive:N0} dropped by full slow-consumer queues (in the store: a device pulls them with sync)");
        return problems.Count == 0
            ? Fmt.Inv($"lost 0: all {total:N0} acked messages stored (sync RPC maxSeq = N in all {pairs.Length} conversations); {live}; {duplicates} duplicate deliveries")
            : "LOSS: " + string.Join("; ", problems);
    }

    /// <summary>Waits until every receiver holds all acknowledged messages, or none got anything new for 5 s (60 s at most).</summary>
    private static async Task WaitForDeliveriesToSettleAsync(ChatPair[] pairs)
    {
        var deadline = Stopwatch.StartNew();
        var quietSince = Stopwatch.StartNew();
        long last = -1;
        while (deadline.Elapsed < TimeSpan.FromSeconds(60) && quietSince.Elapsed < TimeSpan.FromSeconds(5))
        {
            long held = 0, missing = 0;
            foreach (var pair in pairs)
            {
                lock (pair.Gate)
                {
                    held += pair.Seqs.Count;
                    missing += pair.AcceptedTotal - pair.Seqs.Count;
                }
            }

            if (missing <= 0)
            {
                return;
            }

            if (held != last)
            {
                last = held;
                quietSince.Restart();
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }
}
