using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>Start/warm-up/measure/end instants of one run, in Stopwatch ticks.</summary>
public sealed class RunClock
{
    public RunClock(double warmupSeconds, double measureSeconds)
    {
        Start = Stopwatch.GetTimestamp();
        MeasureFrom = Start + (long)(warmupSeconds * Stopwatch.Frequency);
        MeasureTo = MeasureFrom + (long)(measureSeconds * Stopwatch.Frequency);
        MeasureSeconds = measureSeconds;
    }

    public long Start { get; }

    public long MeasureFrom { get; }

    public long MeasureTo { get; }

    public double MeasureSeconds { get; }

    public bool InWindow(long now) => now >= MeasureFrom && now < MeasureTo;

    /// <summary>Waits for the measured window, reading CPU at both ends.</summary>
    public async Task<CpuWindow> MeasureCpuAsync(BrokerUnderTest broker)
    {
        await DelayUntil(MeasureFrom).ConfigureAwait(false);
        var cpu = new CpuWindow(broker).Start();
        await DelayUntil(MeasureTo).ConfigureAwait(false);
        return cpu.Stop();
    }

    public static async Task DelayUntil(long timestamp)
    {
        var wait = timestamp - Stopwatch.GetTimestamp();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency)).ConfigureAwait(false);
        }
    }
}

/// <summary>Payload of relay and fanout messages: send timestamp, sequence number, padding.</summary>
internal static class PlainPayload
{
    public static byte[] Create(int size, long seq)
    {
        var payload = new byte[size];
        BinaryPrimitives.WriteInt64LittleEndian(payload, Stopwatch.GetTimestamp());
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), seq);
        return payload;
    }

    public static (long Timestamp, long Seq) Read(in ReadOnlySequence<byte> payload)
    {
        Span<byte> head = stackalloc byte[16];
        if (payload.Length < 16)
        {
            return (0, -1);
        }

        payload.Slice(0, 16).CopyTo(head);
        return (BinaryPrimitives.ReadInt64LittleEndian(head), BinaryPrimitives.ReadInt64LittleEndian(head[8..]));
    }
}

/// <summary>
/// One relay run's shape: P pairs with W messages in flight each (closed loop), or — when <see cref="OfferedRate"/> is
/// set — an open loop offering that many msgs/s in total, paced in 10 ms ticks, read at p99.
/// </summary>
public sealed record RelayShape(string Scenario, MqttQualityOfServiceLevel Qos, int Pairs, int Window, double? OfferedRate, double WarmupSeconds)
{
    /// <summary>The original relay rows: few pairs, many in flight (writes batch).</summary>
    public static RelayShape Batched(BenchOptions o, MqttQualityOfServiceLevel qos) => new("relay", qos, o.RelayPairs, o.RelayWindow, null, o.WarmupSeconds);

    /// <summary>Many connections each carrying a little: N pairs × 1 in flight at QoS 1, and the same pairs at QoS 0 at a fixed offered rate.</summary>
    public static RelayShape[] ManyPairs(BenchOptions o) =>
    [
        new("pairs", MqttQualityOfServiceLevel.AtLeastOnce, o.ManyPairs, 1, null, Math.Max(o.ManyWarmupSeconds, o.WarmupSeconds)),
        new("pairs", MqttQualityOfServiceLevel.AtMostOnce, o.ManyPairs, 1, o.ManyPairsRate, Math.Max(o.ManyWarmupSeconds, o.WarmupSeconds)),
    ];
}

/// <summary>relay: P publisher→subscriber pairs, one plain topic each (see <see cref="RelayShape"/>).</summary>
public static class RelayScenario
{
    // Open loop: a pair that has this many messages sent but not delivered stops offering until it catches up (counted).
    private const int OpenLoopBacklogCap = 2_000;

    private sealed class Pair(int window)
    {
        public readonly SemaphoreSlim Credits = new(window);
        public long Sent;
        public long Received;
    }

    public static async Task<ResultRow> RunAsync(BrokerUnderTest broker, BenchOptions o, RelayShape shape)
    {
        var qos = shape.Qos;
        var openLoop = shape.OfferedRate is not null;
        var pairs = Enumerable.Range(0, shape.Pairs).Select(_ => new Pair(shape.Window)).ToArray();
        var histogram = new LatencyHistogram();
        long measured = 0;
        RunClock? clock = null;
        var runId = Guid.NewGuid().ToString("N")[..6];

        var subscribers = await Clients.ConnectManyAsync(broker, pairs.Length, 50,
            i => ($"relay-sub-{i}", $"relay-sub-{runId}-{i}", $"bench/relay/{i}"),
            i => args =>
            {
                var now = Stopwatch.GetTimestamp();
                var (sentAt, _) = PlainPayload.Read(args.ApplicationMessage.Payload);
                if (clock is { } c && c.InWindow(now))
                {
                    histogram.RecordTicks(now - sentAt);
                    Interlocked.Increment(ref measured);
                }

                Interlocked.Increment(ref pairs[i].Received);
                if (!openLoop)
                {
                    pairs[i].Credits.Release();
                }

                return Task.CompletedTask;
            },
            TimeSpan.FromSeconds(60), qos).ConfigureAwait(false);
        var publishers = await Clients.ConnectManyAsync(broker, pairs.Length, 50,
            i => ($"relay-pub-{i}", $"relay-pub-{runId}-{i}", null), null, TimeSpan.FromSeconds(60)).ConfigureAwait(false);

        long stalls = 0, failures = 0, shed = 0;
        clock = new RunClock(shape.WarmupSeconds, o.MeasureSeconds);
        using var stop = new CancellationTokenSource();
        var maxPerPair = 50_000_000L;
        var loops = pairs.Select((pair, i) => Task.Run(async () =>
        {
            var topic = $"bench/relay/{i}";
            var pending = new Queue<Task<MqttClientPublishResult>>();
            var perTick = openLoop ? shape.OfferedRate!.Value / pairs.Length / 100.0 : 0;
            var credit = 0.0;
            var nextTick = Stopwatch.GetTimestamp();
            try
            {
                while (!stop.IsCancellationRequested && pair.Sent < maxPerPair)
                {
                    var burst = 1;
                    if (openLoop)
                    {
                        nextTick += Stopwatch.Frequency / 100;
                        await RunClock.DelayUntil(nextTick).ConfigureAwait(false);
                        credit += perTick;
                        burst = (int)credit;
                        credit -= burst;
                        if (Interlocked.Read(ref pair.Sent) - Interlocked.Read(ref pair.Received) > OpenLoopBacklogCap)
                        {
                            Interlocked.Add(ref shed, burst);
                            continue;
                        }
                    }
                    else if (!await pair.Credits.WaitAsync(TimeSpan.FromSeconds(2), stop.Token).ConfigureAwait(false))
                    {
                        // A delivery went missing (QoS 0 may drop): go on rather than stall the pair for good.
                        Interlocked.Increment(ref stalls);
                    }

                    for (var n = 0; n < burst; n++)
                    {
                        var message = new MqttApplicationMessage
                        {
                            Topic = topic,
                            PayloadSegment = PlainPayload.Create(o.PayloadBytes, pair.Sent),
                            QualityOfServiceLevel = qos,
                        };
                        // Never cancel a publish in flight: it would count as sent but never arrive.
                        pending.Enqueue(publishers[i].PublishAsync(message, CancellationToken.None));
                        Interlocked.Increment(ref pair.Sent);
                    }

                    while (pending.Count > 0 && (pending.Peek().IsCompleted || pending.Count >= Math.Max(shape.Window, 64)))
                    {
                        if (!await PublishSucceeded(pending.Dequeue()).ConfigureAwait(false))
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            foreach (var t in pending)
            {
                if (!await RelayScenario.PublishSucceeded(t).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);
        await DrainAsync(() => pairs.Sum(p => Interlocked.Read(ref p.Sent) - Interlocked.Read(ref p.Received)), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var lost = pairs.Sum(p => Interlocked.Read(ref p.Sent) - Interlocked.Read(ref p.Received));

        await Clients.DisposeAllAsync([.. publishers, .. subscribers]).ConfigureAwait(false);
        var rate = measured / clock.MeasureSeconds;
        var load = openLoop ? Fmt.Inv($"offered {shape.OfferedRate:N0} msg/s in all") : Fmt.Inv($"{shape.Window} in flight/pair");
        var notes = Fmt.Inv($"broker {PerMessage(cpu.BrokerCpu, measured)}/msg; lost {lost}{(stalls > 0 ? $", {stalls} stalls" : "")}{(failures > 0 ? $", {failures} publish errors" : "")}");
        if (openLoop)
        {
            notes += Fmt.Inv($"; {rate / shape.OfferedRate!.Value:P0} of offered delivered in the window{(shed > 0 ? $", {shed:N0} not offered (pair backlog > {OpenLoopBacklogCap:N0})" : "")}");
        }

        return new ResultRow(
            shape.Scenario, broker.Name,
            Fmt.Inv($"QoS {(int)qos}, {shape.Pairs} pairs, {load}, {o.PayloadBytes} B, {shape.WarmupSeconds:F0} s warm-up"),
            Fmt.Rate(rate, "msg/s"),
            Fmt.Ms(histogram.Percentile(50)), Fmt.Ms(histogram.Percentile(99)), Fmt.Ms(histogram.MaxMicros),
            notes,
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = rate, OtherCpuSeconds = cpu.OtherCpu, CpuMicrosPerMessage = CpuMicros(cpu.BrokerCpu, measured), P99Micros = histogram.Percentile(99) };
    }

    internal static double CpuMicros(double cpuSeconds, long messages) => messages > 0 ? cpuSeconds * 1e6 / messages : double.NaN;

    /// <summary>Broker CPU per message in µs: the comparison that survives a noisy, shared machine.</summary>
    internal static string PerMessage(double cpuSeconds, long messages) =>
        messages > 0 ? Fmt.Inv($"{cpuSeconds * 1e6 / messages:F1} µs CPU") : "–";

    internal static async Task<bool> PublishSucceeded(Task<MqttClientPublishResult> publish)
    {
        try
        {
            return (await publish.ConfigureAwait(false)).IsSuccess;
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
        {
            return false;
        }
    }

    internal static async Task DrainAsync(Func<long> outstanding, TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (outstanding() > 0 && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
    }
}

/// <summary>fanout: one publisher, S subscribers of one plain topic; W messages in flight (not yet delivered to everyone).</summary>
public static class FanoutScenario
{
    public static async Task<ResultRow> RunAsync(BrokerUnderTest broker, MqttQualityOfServiceLevel qos, BenchOptions o)
    {
        const int maxMessages = 2_000_000;
        var deliveriesPerMessage = new int[maxMessages];
        var credits = new SemaphoreSlim(o.FanoutWindow);
        var histogram = new LatencyHistogram();
        long measured = 0, delivered = 0, sent = 0, stalls = 0, failures = 0;
        var subscriberCount = o.FanoutSubscribers;
        RunClock? clock = null;
        var runId = Guid.NewGuid().ToString("N")[..6];
        const string topic = "bench/fanout";

        var subscribers = await Clients.ConnectManyAsync(broker, subscriberCount, 50,
            i => ($"fan-sub-{i}", $"fan-sub-{runId}-{i}", topic),
            _ => args =>
            {
                var now = Stopwatch.GetTimestamp();
                var (sentAt, seq) = PlainPayload.Read(args.ApplicationMessage.Payload);
                if (clock is { } c && c.InWindow(now))
                {
                    histogram.RecordTicks(now - sentAt);
                    Interlocked.Increment(ref measured);
                }

                Interlocked.Increment(ref delivered);
                if (seq >= 0 && seq < maxMessages && Interlocked.Increment(ref deliveriesPerMessage[seq]) == subscriberCount)
                {
                    credits.Release();
                }

                return Task.CompletedTask;
            },
            TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var publisher = await Clients.ConnectAsync(broker, "fan-pub", $"fan-pub-{runId}", null, null, CancellationToken.None).ConfigureAwait(false);

        clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            var pending = new Queue<Task<MqttClientPublishResult>>();
            try
            {
                while (!stop.IsCancellationRequested && sent < maxMessages)
                {
                    if (!await credits.WaitAsync(TimeSpan.FromSeconds(2), stop.Token).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref stalls);
                    }

                    var message = new MqttApplicationMessage
                    {
                        Topic = topic,
                        PayloadSegment = PlainPayload.Create(o.PayloadBytes, sent),
                        QualityOfServiceLevel = qos,
                    };
                    pending.Enqueue(publisher.PublishAsync(message, CancellationToken.None));
                    Interlocked.Increment(ref sent);
                    while (pending.Count > 0 && (pending.Peek().IsCompleted || pending.Count >= o.FanoutWindow))
                    {
                        if (!await RelayScenario.PublishSucceeded(pending.Dequeue()).ConfigureAwait(false))
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            foreach (var t in pending)
            {
                if (!await RelayScenario.PublishSucceeded(t).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        await stop.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        await RelayScenario.DrainAsync(() => Interlocked.Read(ref sent) * subscriberCount - Interlocked.Read(ref delivered), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var lost = Interlocked.Read(ref sent) * subscriberCount - Interlocked.Read(ref delivered);

        await Clients.DisposeAllAsync([publisher, .. subscribers]).ConfigureAwait(false);
        var rate = measured / clock.MeasureSeconds;
        return new ResultRow(
            "fanout", broker.Name,
            Fmt.Inv($"QoS {(int)qos}, 1 pub → {subscriberCount} subs, {o.FanoutWindow} msgs in flight, {o.PayloadBytes} B"),
            Fmt.Rate(rate, "deliveries/s"),
            Fmt.Ms(histogram.Percentile(50)), Fmt.Ms(histogram.Percentile(99)), Fmt.Ms(histogram.MaxMicros),
            Fmt.Inv($"{rate / subscriberCount:N0} publishes/s; broker {RelayScenario.PerMessage(cpu.BrokerCpu, measured)}/delivery; lost {lost}{(stalls > 0 ? $", {stalls} stalls" : "")}{(failures > 0 ? $", {failures} publish errors" : "")}"),
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = rate, OtherCpuSeconds = cpu.OtherCpu, CpuMicrosPerMessage = RelayScenario.CpuMicros(cpu.BrokerCpu, measured), P99Micros = histogram.Percentile(99) };
    }
}
