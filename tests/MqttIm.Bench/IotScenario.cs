using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>
/// iot (issue 10's benchmark). Fan-in: D connected devices (10,000; quick: 500) send QoS 1 telemetry flat out (256 in
/// flight, round robin over the devices); MqttIm persists every point before its PUBACK, Mosquitto only relays. One
/// subscriber watches a sample of 100 devices: p50/p99 uplink → subscriber, broker CPU per point. Commands: 1,000
/// commands/s (quick: 200/s) issued over MQTT (<c>device/{id}/commands</c>) to 100 online devices that reply at once;
/// p50/p99 from the issuing PUBLISH to the <c>succeeded</c> state event reaching the issuer.
/// </summary>
internal static class IotScenario
{
    private const int Sampled = 100;

    public static async Task RunAsync(string brokerDll, BenchOptions o, Action<ResultRow> emit)
    {
        var devices = o.Quick ? 500 : 10_000;
        await using (var mqttIm = await MqttImBroker.StartAsync(brokerDll, "--Moderation:PublishesPerSecond=0"))
        {
            var ids = await RegisterAsync(mqttIm, devices, "iot-ops");
            emit(await FanInAsync(mqttIm, ids, o, id => mqttIm.DeviceOptions(id, ids[id])));
        }

        if (MosquittoBroker.IsInstalled(o.MosquittoPath))
        {
            await using var mosquitto = await MosquittoBroker.StartAsync(o.MosquittoPath);
            var ids = Enumerable.Range(0, devices).ToDictionary(i => DeviceId(i), _ => "");
            emit(await FanInAsync(mosquitto, ids, o, id => mosquitto.ClientOptions(id, id)));
        }

        await using (var mqttIm = await MqttImBroker.StartAsync(brokerDll, "--Moderation:PublishesPerSecond=0"))
        {
            emit(await CommandsAsync(mqttIm, o, o.Quick ? 200 : 1_000));
        }
    }

    private static string DeviceId(int i) => Fmt.Inv($"bench-dev-{i:D5}");

    /// <summary>Registers token-only devices (no KDF per device) owned by <paramref name="owner"/>; device id → token.</summary>
    private static async Task<Dictionary<string, string>> RegisterAsync(MqttImBroker broker, int count, string owner)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", broker.AdminKey);
        var tokens = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var i && i < count)
            {
                var response = await http.PostAsJsonAsync("/api/admin/devices", new { deviceId = DeviceId(i), owners = new[] { owner }, tokenOnly = true });
                response.EnsureSuccessStatusCode();
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                tokens[DeviceId(i)] = body.RootElement.GetProperty("token").GetString()!;
            }
        }));
        return new Dictionary<string, string>(tokens, StringComparer.Ordinal);
    }

    private static MqttClientOptionsBuilder DeviceOptions(this MqttImBroker broker, string deviceId, string token) => new MqttClientOptionsBuilder()
        .WithTcpServer("127.0.0.1", broker.MqttPort)
        .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
        .WithClientId(deviceId)
        .WithCredentials(deviceId, token)
        .WithCleanSession()
        .WithKeepAlivePeriod(TimeSpan.FromSeconds(60))
        .WithTimeout(TimeSpan.FromSeconds(60));

    private static async Task<ResultRow> FanInAsync(BrokerUnderTest broker, Dictionary<string, string> devices, BenchOptions o, Func<string, MqttClientOptionsBuilder> options)
    {
        var ids = devices.Keys.Order(StringComparer.Ordinal).ToArray();
        var clients = new IMqttClient[ids.Length];
        var latency = new LatencyHistogram();
        RunClock? clock = null;
        long received = 0, acked = 0, failed = 0;
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        subscriber.ApplicationMessageReceivedAsync += args =>
        {
            var now = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref received);
            var payload = args.ApplicationMessage.Payload;
            if (payload.Length >= 8 && clock?.InWindow(now) == true)
            {
                Span<byte> head = stackalloc byte[8];
                payload.Slice(0, 8).CopyTo(head);
                latency.RecordTicks(now - BinaryPrimitives.ReadInt64LittleEndian(head));
            }

            return Task.CompletedTask;
        };
        try
        {
            await subscriber.ConnectAsync(broker.ClientOptions("iot-ops", "iot-ops-console").Build());
            var subscribe = new MqttClientSubscribeOptionsBuilder();
            foreach (var id in ids.Take(Sampled))
            {
                subscribe.WithTopicFilter($"device/{id}/telemetry", MqttQualityOfServiceLevel.AtMostOnce);
            }

            await subscriber.SubscribeAsync(subscribe.Build());
            var connectNext = -1;
            await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
            {
                while (Interlocked.Increment(ref connectNext) is var i && i < ids.Length)
                {
                    clients[i] = new MqttClientFactory().CreateMqttClient();
                    await clients[i].ConnectAsync(options(ids[i]).Build());
                }
            }));

            var window = clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
            long index = -1;
            var stop = 0;
            var workers = Enumerable.Range(0, 256).Select(async _ =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    var k = Interlocked.Increment(ref index) % ids.Length;
                    var payload = new byte[64];
                    BinaryPrimitives.WriteInt64LittleEndian(payload, Stopwatch.GetTimestamp());
                    Encoding.ASCII.GetBytes("""{"lat":31.23,"lon":121.47}""", payload.AsSpan(8));
                    var result = await clients[k].PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{ids[k]}/telemetry")
                        .WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                    if (window.InWindow(Stopwatch.GetTimestamp()))
                    {
                        if (result.IsSuccess)
                        {
                            Interlocked.Increment(ref acked);
                        }
                        else
                        {
                            Interlocked.Increment(ref failed);
                        }
                    }
                }
            }).ToList();
            var cpu = await window.MeasureCpuAsync(broker);
            Volatile.Write(ref stop, 1);
            await Task.WhenAll(workers);
            var rate = acked / window.MeasureSeconds;
            var persisted = broker is MqttImBroker ? "persisted before PUBACK" : "relayed, not persisted";
            return new ResultRow("iot-fanin", broker.Name, Fmt.Inv($"{ids.Length:N0} devices, QoS 1, 64 B, 256 in flight; subscriber on {Sampled} of them"),
                Fmt.Inv($"{rate:N0} points/s"), Micros(latency.Percentile(50)), Micros(latency.Percentile(99)), Micros(latency.MaxMicros),
                Fmt.Inv($"{persisted}; {failed} refused; broker CPU {cpu.BrokerCpu * 1e6 / Math.Max(1, acked):F0} µs/point"),
                cpu.BrokerCpu, cpu.SelfCpu, window.MeasureSeconds, broker.ResidentBytes()) { Value = rate, OtherCpuSeconds = cpu.OtherCpu };
        }
        finally
        {
            foreach (var client in clients.Where(c => c is not null))
            {
                client.Dispose();
            }
        }
    }

    private static async Task<ResultRow> CommandsAsync(MqttImBroker broker, BenchOptions o, int perSecond)
    {
        const int deviceCount = 100;
        var devices = await RegisterAsync(broker, deviceCount, "iot-cmd");
        var ids = devices.Keys.Order(StringComparer.Ordinal).ToArray();
        var clients = new List<IMqttClient>();
        var issuedAt = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var latency = new LatencyHistogram();
        long succeeded = 0;
        using var issuer = new MqttClientFactory().CreateMqttClient();
        issuer.ApplicationMessageReceivedAsync += args =>
        {
            var now = Stopwatch.GetTimestamp();
            using var state = JsonDocument.Parse(args.ApplicationMessage.ConvertPayloadToString());
            if (state.RootElement.GetProperty("state").GetString() == "succeeded"
                && issuedAt.TryRemove(state.RootElement.GetProperty("name").GetString()!, out var started))
            {
                latency.RecordTicks(now - started);
                Interlocked.Increment(ref succeeded);
            }

            return Task.CompletedTask;
        };
        try
        {
            foreach (var id in ids)
            {
                var device = new MqttClientFactory().CreateMqttClient();
                device.ApplicationMessageReceivedAsync += args => device.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic(args.ApplicationMessage.ResponseTopic).WithCorrelationData(args.ApplicationMessage.CorrelationData)
                    .WithPayload("""{"status":"succeeded"}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                await device.ConnectAsync(broker.DeviceOptions(id, devices[id]).Build());
                await device.SubscribeAsync($"device/{id}/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce);
                clients.Add(device);
            }

            await issuer.ConnectAsync(broker.ClientOptions("iot-cmd", "iot-cmd-issuer").Build());
            var subscribe = new MqttClientSubscribeOptionsBuilder();
            foreach (var id in ids)
            {
                subscribe.WithTopicFilter($"device/{id}/commands/+", MqttQualityOfServiceLevel.AtMostOnce);
            }

            await issuer.SubscribeAsync(subscribe.Build());
            var seconds = o.WarmupSeconds + o.MeasureSeconds;
            var total = (int)(perSecond * seconds);
            var cpu = broker.CpuSeconds();
            var watch = Stopwatch.StartNew();
            var inFlight = new List<Task>();
            for (var n = 0; n < total; n++)
            {
                // Paced: command n goes out at n / rate seconds.
                var due = TimeSpan.FromSeconds(n / (double)perSecond) - watch.Elapsed;
                if (due > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(due);
                }

                inFlight.Add(IssueAsync(issuer, ids[n % ids.Length], Fmt.Inv($"ping-{n}"), issuedAt));
            }

            await Task.WhenAll(inFlight);
            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref succeeded) < total && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            watch.Stop();
            return new ResultRow("iot-commands", "MqttIm", Fmt.Inv($"{perSecond:N0} commands/s over MQTT to {deviceCount} online devices, {total:N0} commands"),
                Fmt.Inv($"{Interlocked.Read(ref succeeded) / watch.Elapsed.TotalSeconds:N0} succeeded/s"), Micros(latency.Percentile(50)), Micros(latency.Percentile(99)),
                Micros(latency.MaxMicros), Fmt.Inv($"issue PUBLISH → succeeded state event; {total - Interlocked.Read(ref succeeded)} not succeeded in time"),
                broker.CpuSeconds() - cpu, double.NaN, watch.Elapsed.TotalSeconds, broker.ResidentBytes()) { Value = succeeded / watch.Elapsed.TotalSeconds };
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>Each command has its own name, so its state events are matched even when they overtake the PUBACK.</summary>
    private static async Task IssueAsync(IMqttClient issuer, string deviceId, string name, ConcurrentDictionary<string, long> issuedAt)
    {
        issuedAt[name] = Stopwatch.GetTimestamp();
        var result = await issuer.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{deviceId}/commands")
            .WithPayload("{\"name\":\"" + name + "\",\"timeoutSeconds\":60}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        if (!result.IsSuccess)
        {
            issuedAt.TryRemove(name, out _);
        }
    }

    private static string Micros(long micros) => micros >= 1000 ? Fmt.Inv($"{micros / 1000.0:F1} ms") : Fmt.Inv($"{micros} µs");
}
