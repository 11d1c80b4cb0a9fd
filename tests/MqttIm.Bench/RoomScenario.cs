using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Google.Protobuf;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;

namespace MqttIm.Bench;

/// <summary>
/// room: one live room with V viewers on one node and a mixed stream (gifts + danmaku offered by S senders), at each
/// rate of <see cref="BenchOptions.RoomRates"/> in turn on the same connected viewers (lowest first; the room drains
/// between rates). MqttIm merges the room's messages into one frame per 100 ms per viewer; Mosquitto fans the same
/// messages out one PUBLISH each to V subscribers of one topic. Measured per rate in the same run: room messages
/// delivered per second and as a share of the offered deliveries (rate × V), frames (PUBLISH packets) per second,
/// p50/p99 send → viewer, broker CPU per delivered room message.
/// The viewers are <see cref="RawRoomViewer"/>s (raw sockets that count packets and a frame's messages), so the load
/// generator is not what limits the deliveries; latency is read at ~100 sampled viewers.
/// </summary>
public static class RoomScenario
{
    private const int LatencySamples = 100;
    private const string MosquittoTopic = "bench/room";

    public static async Task RunAsync(BrokerUnderTest broker, BenchOptions o, Action<ResultRow> emit)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        var roomId = "bench-" + runId;
        var im = broker as MqttImBroker;
        var rates = o.RoomRates.Order().ToArray();
        if (im is not null)
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{im.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Add("X-Admin-Key", im.AdminKey);
            // The room's cap above the highest offered rate: every message is delivered, as with Mosquitto (sampling is not measured here).
            var created = await http.PostAsJsonAsync("/api/admin/rooms", new { roomId, title = "bench", maxMessagesPerSecond = (int)Math.Min(100_000, rates[^1] * 2) }).ConfigureAwait(false);
            created.EnsureSuccessStatusCode();
        }

        var topic = im is not null ? "room/" + roomId : MosquittoTopic;
        ViewerWindow? window = null;
        var sampleEvery = Math.Max(1, o.RoomViewers / LatencySamples);
        Log.Info(Fmt.Inv($"  {broker.Name}: connecting {o.RoomViewers:N0} raw-socket viewers"));
        var viewers = await ConnectViewersAsync(broker, im, o, runId, topic, sampleEvery, () => Volatile.Read(ref window)).ConfigureAwait(false);
        var senders = new IMqttClient[o.RoomSenders];
        try
        {
            long windowMessagesBefore = 0, windowPacketsBefore = 0;
            for (var r = 0; r < rates.Length; r++)
            {
                var rate = rates[r];
                // (Re)connected per rate: a broker still flushing a backlog to 10,000 viewers may drop a sender's
                // connection (a ping or PUBACK late beyond its timeout); the next rate starts with live senders.
                for (var i = 0; i < senders.Length; i++)
                {
                    if (senders[i] is not { IsConnected: true })
                    {
                        senders[i]?.Dispose();
                        senders[i] = await Clients.ConnectAsync(broker, $"rs{i}", $"rs-{runId}-{i}-{r}", null, null, CancellationToken.None,
                            configure: b => b.WithKeepAlivePeriod(TimeSpan.FromMinutes(5)).WithTimeout(TimeSpan.FromSeconds(60))).ConfigureAwait(false);
                    }
                }

                var clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
                var histogram = new LatencyHistogram();
                Volatile.Write(ref window, new ViewerWindow(clock.MeasureFrom, clock.MeasureTo, histogram));
                var (cpu, sent, gifts, failures) = await OfferAsync(broker, im is not null, topic, senders, rate, clock, o).ConfigureAwait(false);
                var rss = broker.ResidentBytes();

                var windowMessages = viewers.Sum(v => v.WindowMessages);
                var windowPackets = viewers.Sum(v => v.WindowPackets);
                var measuredMessages = windowMessages - windowMessagesBefore;
                var measuredPackets = windowPackets - windowPacketsBefore;
                (windowMessagesBefore, windowPacketsBefore) = (windowMessages, windowPackets);
                var ended = viewers.Count(v => v.Ended is not null);
                foreach (var reason in viewers.Where(v => v.Ended is not null).GroupBy(v => v.Ended).OrderByDescending(g => g.Count()).Take(3))
                {
                    Log.Info(Fmt.Inv($"  {broker.Name}: {reason.Count():N0} viewers ended: {reason.Key}"));
                }


                var deliveredPerSecond = measuredMessages / clock.MeasureSeconds;
                var packetsPerSecond = measuredPackets / clock.MeasureSeconds;
                var cpuPerMessage = measuredMessages > 0 ? cpu.BrokerCpu * 1e6 / measuredMessages : double.NaN;
                var offered = rate * o.RoomViewers;
                emit(new ResultRow(
                    "room", broker.Name,
                    Fmt.Inv($"1 room, {o.RoomViewers:N0} raw-socket viewers, {rate:N0} msgs/s offered (10% gifts), {o.RoomSenders} senders"),
                    Fmt.Rate(deliveredPerSecond, "room msgs delivered/s"),
                    Fmt.Ms(histogram.Percentile(50)), Fmt.Ms(histogram.Percentile(99)), Fmt.Ms(histogram.MaxMicros),
                    Fmt.Inv($"{packetsPerSecond:N0} {(im is not null ? "frames" : "PUBLISHes")}/s to viewers; broker {cpuPerMessage:F2} µs CPU per delivered room msg; {deliveredPerSecond / Math.Max(1, offered):P0} of offered deliveries ({offered:N0}/s) in the window; {sent:N0} sent, {gifts:N0} gifts; latency at {(o.RoomViewers + sampleEvery - 1) / sampleEvery} viewers{(failures > 0 ? $", {failures} publish errors" : "")}{(ended > 0 ? $"; {ended:N0} viewers dropped by the broker" : "")}"),
                    cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
                {
                    Value = deliveredPerSecond,
                    Secondary = cpuPerMessage,
                    OtherCpuSeconds = cpu.OtherCpu,
                    Variant = rate.ToString(CultureInfo.InvariantCulture),
                });

                if (r < rates.Length - 1)
                {
                    await DrainAsync(broker, viewers).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await Clients.DisposeAllAsync([.. senders.Where(s => s is not null)]).ConfigureAwait(false);
            await Task.WhenAll(viewers.Select(v => v.DisposeAsync().AsTask())).ConfigureAwait(false);
        }
    }

    private static async Task<RawRoomViewer[]> ConnectViewersAsync(
        BrokerUnderTest broker, MqttImBroker? im, BenchOptions o, string runId, string topic, int sampleEvery, Func<ViewerWindow?> window)
    {
        var viewers = new RawRoomViewer[o.RoomViewers];
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var next = -1;
        var progress = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Math.Max(1, Math.Min(o.ConnectConcurrency, viewers.Length))).Select(async _ =>
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= viewers.Length)
                {
                    return;
                }

                var user = $"rv{i}";
                viewers[i] = await RawRoomViewer.ConnectAsync(
                    broker.MqttPort, $"rv-{runId}-{i}", im is null ? null : user, im?.Token(user), topic,
                    protobufFrames: im is not null, sampled: i % sampleEvery == 0, window, cts.Token).ConfigureAwait(false);
                if (viewers.Length >= 2000 && (i + 1) % 2000 == 0)
                {
                    Log.Info(Fmt.Inv($"  {broker.Name}: {i + 1:N0}/{viewers.Length:N0} viewers subscribed after {progress.Elapsed.TotalSeconds:F1} s"));
                }
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        catch
        {
            await Task.WhenAll(viewers.Where(v => v is not null).Select(v => v.DisposeAsync().AsTask())).ConfigureAwait(false);
            throw;
        }

        return viewers;
    }

    /// <summary>
    /// Offers <paramref name="rate"/> msgs/s for the warm-up and the measured window, paced in 10 ms ticks; every 10th
    /// message is a gift (QoS 1: stored before its PUBACK on MqttIm), the rest danmaku (QoS 0).
    /// </summary>
    private static async Task<(CpuWindow Cpu, long Sent, long Gifts, long Failures)> OfferAsync(
        BrokerUnderTest broker, bool mqttIm, string topic, IMqttClient[] senders, double rate, RunClock clock, BenchOptions o)
    {
        using var stop = new CancellationTokenSource();
        long sent = 0, gifts = 0, failures = 0;
        var loops = senders.Select(sender => Task.Run(async () =>
        {
            var perTick = rate / senders.Length / 100.0;
            var credit = 0.0;
            var pending = new List<Task<MqttClientPublishResult>>();
            var next = Stopwatch.GetTimestamp();
            while (!stop.IsCancellationRequested && Interlocked.Read(ref sent) < 50_000_000)
            {
                credit += perTick;
                for (; credit >= 1; credit--)
                {
                    var seq = Interlocked.Increment(ref sent);
                    var gift = seq % 10 == 0;
                    if (gift)
                    {
                        Interlocked.Increment(ref gifts);
                    }

                    try
                    {
                        pending.Add(sender.PublishAsync(Message(mqttIm, topic, gift, seq, o.PayloadBytes), CancellationToken.None));
                    }
                    catch (MQTTnet.Exceptions.MqttCommunicationException)
                    {
                        // Not connected (the broker dropped this sender): counted as a publish error, the run goes on.
                        Interlocked.Increment(ref failures);
                    }
                }

                pending.RemoveAll(t => t.IsCompleted && (t.IsCompletedSuccessfully || NoteFailure(t.Exception, ref failures)));
                next += Stopwatch.Frequency / 100;
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }

            // Bounded: a publish the broker never answers does not hold the run.
            await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false);
        })).ToArray();

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);
        return (cpu, Interlocked.Read(ref sent), Interlocked.Read(ref gifts), Interlocked.Read(ref failures));
    }

    /// <summary>Counts a failed publish; the first few are logged with their reason.</summary>
    private static bool NoteFailure(Exception? error, ref long failures)
    {
        if (Interlocked.Increment(ref failures) <= 3)
        {
            Log.Info("  room sender: publish failed: " + error?.GetBaseException().Message);
        }

        return true;
    }

    /// <summary>Waits (at most 60 s) until the viewers have read nothing for a second, so the next rate starts from an empty room.</summary>
    private static async Task DrainAsync(BrokerUnderTest broker, RawRoomViewer[] viewers)
    {
        var started = Stopwatch.StartNew();
        var last = viewers.Sum(v => v.Packets);
        var quietSince = Stopwatch.StartNew();
        while (started.Elapsed < TimeSpan.FromSeconds(60) && quietSince.Elapsed < TimeSpan.FromSeconds(1))
        {
            await Task.Delay(100).ConfigureAwait(false);
            var now = viewers.Sum(v => v.Packets);
            if (now != last)
            {
                last = now;
                quietSince.Restart();
            }
        }

        Log.Info(Fmt.Inv($"  {broker.Name}: drained in {started.Elapsed.TotalSeconds:F1} s{(quietSince.Elapsed < TimeSpan.FromSeconds(1) ? " (still delivering: the next rate starts with a backlog)" : "")}"));
    }

    private static MqttApplicationMessage Message(bool mqttIm, string topic, bool gift, long seq, int payloadBytes)
    {
        if (!mqttIm)
        {
            return new MqttApplicationMessage
            {
                Topic = topic,
                PayloadSegment = PlainPayload.Create(payloadBytes, seq),
                QualityOfServiceLevel = gift ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.AtMostOnce,
            };
        }

        var stamp = Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture);
        var send = gift
            ? new RoomSend { Kind = "gift", GiftId = "rocket", GiftCount = 1, ClientMsgId = stamp }
            : new RoomSend { Kind = "chat", Text = new string('d', Math.Max(1, payloadBytes - 16)), ClientMsgId = stamp };
        return new MqttApplicationMessage
        {
            Topic = topic,
            PayloadSegment = send.ToByteArray(),
            ContentType = "application/x-protobuf",
            QualityOfServiceLevel = gift ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.AtMostOnce,
        };
    }
}
