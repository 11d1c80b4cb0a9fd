using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Google.Protobuf;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;

namespace MqttIm.Bench;

/// <summary>
/// room: one live room with V viewers on one node and a mixed stream (gifts + danmaku at R msgs/s offered by S senders).
/// MqttIm merges the room's messages into one frame per 100 ms per viewer; Mosquitto fans the same messages out one
/// PUBLISH each to V subscribers of one topic. Measured in the same run: room messages delivered per second, frames
/// (PUBLISH packets) per second, p50/p99 send → viewer, broker CPU per delivered room message.
/// Every viewer counts what it receives (MqttIm viewers parse each frame to count its messages); latency is recorded at
/// every <see cref="LatencySampleEvery"/>th viewer. At 10,000 viewers the load generator shares the 2 cores: its CPU is
/// reported beside the broker's, and Mosquitto's deliveries may be limited by how fast the viewers read.
/// </summary>
public static class RoomScenario
{
    private const int LatencySampleEvery = 50;
    private const string MosquittoTopic = "bench/room";

    public static async Task<ResultRow> RunAsync(BrokerUnderTest broker, BenchOptions o)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        var roomId = "bench-" + runId;
        var im = broker as MqttImBroker;
        if (im is not null)
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{im.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Add("X-Admin-Key", im.AdminKey);
            // The room's cap above the offered rate: every message is delivered, as with Mosquitto (sampling is not measured here).
            var created = await http.PostAsJsonAsync("/api/admin/rooms", new { roomId, title = "bench", maxMessagesPerSecond = (int)Math.Min(100_000, o.RoomRate * 2) }).ConfigureAwait(false);
            created.EnsureSuccessStatusCode();
        }

        var topic = im is not null ? "room/" + roomId : MosquittoTopic;
        var histogram = new LatencyHistogram();
        long messages = 0, packets = 0, measuredMessages = 0, measuredPackets = 0;
        RunClock? clock = null;

        Func<MqttApplicationMessageReceivedEventArgs, Task> Handler(int viewer) => args =>
        {
            var now = Stopwatch.GetTimestamp();
            var inWindow = clock is { } c && c.InWindow(now);
            var sample = viewer % LatencySampleEvery == 0;
            long count = 1;
            if (im is not null)
            {
                var frame = RoomFrame.Parser.ParseFrom(args.ApplicationMessage.Payload);
                count = frame.Messages.Count;
                if (sample && inWindow)
                {
                    foreach (var m in frame.Messages)
                    {
                        if (long.TryParse(m.ClientMsgId, NumberStyles.Integer, CultureInfo.InvariantCulture, out var sentAt))
                        {
                            histogram.RecordTicks(now - sentAt);
                        }
                    }
                }
            }
            else if (sample && inWindow)
            {
                histogram.RecordTicks(now - PlainPayload.Read(args.ApplicationMessage.Payload).Timestamp);
            }

            Interlocked.Add(ref messages, count);
            Interlocked.Increment(ref packets);
            if (inWindow)
            {
                Interlocked.Add(ref measuredMessages, count);
                Interlocked.Increment(ref measuredPackets);
            }

            return Task.CompletedTask;
        };

        Log.Info(Fmt.Inv($"  {broker.Name}: connecting {o.RoomViewers:N0} viewers"));
        var viewers = await Clients.ConnectManyAsync(broker, o.RoomViewers, o.ConnectConcurrency,
            i => ($"rv{i}", $"rv-{runId}-{i}", topic), Handler, TimeSpan.FromMinutes(5), MqttQualityOfServiceLevel.AtMostOnce,
            // MqttIm viewers ask for protobuf frames (MQTT 5 CONNECT user property), the cheaper decode for the load generator.
            b => b.WithUserProperty("format", new ReadOnlyMemory<byte>("protobuf"u8.ToArray()))).ConfigureAwait(false);
        var senders = new IMqttClient[o.RoomSenders];
        for (var i = 0; i < senders.Length; i++)
        {
            senders[i] = await Clients.ConnectAsync(broker, $"rs{i}", $"rs-{runId}-{i}", null, null, CancellationToken.None).ConfigureAwait(false);
        }

        clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
        using var stop = new CancellationTokenSource();
        long sent = 0, gifts = 0, failures = 0;
        // Paced in 10 ms ticks; every 10th message is a gift (QoS 1: stored before its PUBACK on MqttIm), the rest danmaku (QoS 0).
        var loops = senders.Select((sender, n) => Task.Run(async () =>
        {
            var perTick = o.RoomRate / senders.Length / 100.0;
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

                    pending.Add(sender.PublishAsync(Message(im is not null, topic, gift, seq, o.PayloadBytes), CancellationToken.None));
                }

                pending.RemoveAll(t => t.IsCompleted && (t.IsCompletedSuccessfully || Interlocked.Increment(ref failures) > 0));
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

            await Task.WhenAll(pending.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
        })).ToArray();

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);
        await Clients.DisposeAllAsync([.. senders, .. viewers]).ConfigureAwait(false);

        var deliveredPerSecond = measuredMessages / clock.MeasureSeconds;
        var packetsPerSecond = measuredPackets / clock.MeasureSeconds;
        var cpuPerMessage = measuredMessages > 0 ? cpu.BrokerCpu * 1e6 / measuredMessages : double.NaN;
        var offered = o.RoomRate * o.RoomViewers;
        return new ResultRow(
            "room", broker.Name,
            Fmt.Inv($"1 room, {o.RoomViewers:N0} viewers, {o.RoomRate:N0} msgs/s offered (10% gifts), {o.RoomSenders} senders"),
            Fmt.Rate(deliveredPerSecond, "room msgs delivered/s"),
            Fmt.Ms(histogram.Percentile(50)), Fmt.Ms(histogram.Percentile(99)), Fmt.Ms(histogram.MaxMicros),
            Fmt.Inv($"{packetsPerSecond:N0} {(im is not null ? "frames" : "PUBLISHes")}/s to viewers; broker {cpuPerMessage:F2} µs CPU per delivered room msg; {deliveredPerSecond / Math.Max(1, offered):P0} of offered deliveries; {Interlocked.Read(ref sent):N0} sent, {gifts:N0} gifts{(failures > 0 ? $", {failures} publish errors" : "")}"),
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = deliveredPerSecond, Secondary = cpuPerMessage, OtherCpuSeconds = cpu.OtherCpu };
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
