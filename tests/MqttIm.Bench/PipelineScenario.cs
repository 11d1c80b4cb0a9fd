using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>
/// pipeline (MqttIm only): ONE sending connection, <see cref="Window"/> sends in flight, 1:1 to one receiver; stored-acked
/// msgs/s in the default mode (PUBACK after the commit: MQTTnet reads the connection's next publish only after it) and in
/// early-ack mode (CONNECT <c>ack=received</c>: PUBACK on receipt, "stored" = the inbox send-ack). Same client either way.
/// </summary>
public static class PipelineScenario
{
    private const int Window = 64;

    public static async Task RunAsync(string brokerDll, BenchOptions o, Action<ResultRow> emit)
    {
        await using var broker = await MqttImBroker.StartAsync(brokerDll).ConfigureAwait(false);
        foreach (var earlyAck in new[] { false, true })
        {
            emit(await RunOnceAsync(broker, earlyAck, o).ConfigureAwait(false));
        }
    }

    private static async Task<ResultRow> RunOnceAsync(MqttImBroker broker, bool earlyAck, BenchOptions o)
    {
        var mode = earlyAck ? "early" : "default";
        var (sender, receiver) = ($"pipe-{mode}-s", $"pipe-{mode}-r");
        var stored = new ConcurrentDictionary<string, TaskCompletionSource>(StringComparer.Ordinal);
        long received = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var receiverClient = await Clients.ConnectAsync(broker, receiver, receiver + "-phone", $"inbox/{receiver}", _ =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        }, cts.Token).ConfigureAwait(false);
        var senderClient = await Clients.ConnectAsync(broker, sender, sender + "-bot", earlyAck ? $"inbox/{sender}" : null, args =>
        {
            if (TryReadSendAckId(args.ApplicationMessage.Payload, out var id) && stored.TryRemove(id, out var waiting))
            {
                waiting.TrySetResult();
            }

            return Task.CompletedTask;
        }, cts.Token, configure: b =>
        {
            if (earlyAck)
            {
                b.WithUserProperty("ack", new ReadOnlyMemory<byte>("received"u8.ToArray()));
            }
        }).ConfigureAwait(false);

        var latency = new LatencyHistogram();
        long measured = 0, failures = 0, next = -1;
        var stop = 0;
        var clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
        var runId = Guid.NewGuid().ToString("N")[..8];
        var topic = $"im/c2c/{receiver}";
        var workers = Enumerable.Range(0, Window).Select(worker => Task.Run(async () =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                var id = $"{runId}-{Interlocked.Increment(ref next).ToString(CultureInfo.InvariantCulture)}";
                var ack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (earlyAck)
                {
                    stored[id] = ack;
                }

                var sentAt = Stopwatch.GetTimestamp();
                try
                {
                    var result = await senderClient.PublishAsync(new MqttApplicationMessage
                    {
                        Topic = topic,
                        PayloadSegment = Encoding.UTF8.GetBytes($"{{\"text\":\"pipelined bench message\",\"clientMsgId\":\"{id}\"}}"),
                        QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                        ContentType = "application/json",
                    }).ConfigureAwait(false);
                    if (result.ReasonCode != MqttClientPublishReasonCode.Success)
                    {
                        Interlocked.Increment(ref failures);
                        stored.TryRemove(id, out _);
                        continue;
                    }

                    if (earlyAck)
                    {
                        await ack.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or TimeoutException)
                {
                    Interlocked.Increment(ref failures);
                    stored.TryRemove(id, out _);
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                if (clock.InWindow(now))
                {
                    Interlocked.Increment(ref measured);
                    latency.RecordTicks(now - sentAt);
                }
            }
        })).ToArray();

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(workers).ConfigureAwait(false);
        await Clients.DisposeAllAsync([senderClient, receiverClient]).ConfigureAwait(false);
        var rate = measured / clock.MeasureSeconds;
        var settings = earlyAck
            ? Fmt.Inv($"1 connection, {Window} in flight, early-ack (ack=received; acked = inbox send-ack)")
            : Fmt.Inv($"1 connection, {Window} in flight, default (acked = PUBACK after commit)");
        var notes = Fmt.Inv($"broker {RelayScenario.PerMessage(cpu.BrokerCpu, measured)}/msg; {Interlocked.Read(ref received):N0} delivered to the receiver");
        if (failures > 0)
        {
            notes += Fmt.Inv($"; {failures} failed sends");
        }

        return new ResultRow("pipeline", broker.Name, settings, Fmt.Rate(rate, "acked msg/s"),
            Fmt.Ms(latency.Percentile(50)), Fmt.Ms(latency.Percentile(99)), Fmt.Ms(latency.MaxMicros), notes,
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = rate, OtherCpuSeconds = cpu.OtherCpu };
    }

    /// <summary>The client message id of <c>{"sendAck":{"clientMsgId":"…",…}}</c>.</summary>
    private static bool TryReadSendAckId(in System.Buffers.ReadOnlySequence<byte> payload, out string id)
    {
        id = "";
        var reader = new Utf8JsonReader(payload);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !reader.Read()
            || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("sendAck"u8))
        {
            return false;
        }

        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("clientMsgId"u8) && reader.Read())
            {
                id = reader.GetString() ?? "";
                return id.Length > 0;
            }
        }

        return false;
    }
}
