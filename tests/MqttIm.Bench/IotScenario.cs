using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>
/// iot: N connected devices each publishing telemetry (QoS 1, JSON) every P seconds — fan-in, paced open loop — to an
/// owner subscribed to every 10th device's telemetry; MqttIm stores every point before its PUBACK, Mosquitto relays it
/// unpersisted (same devices, same subscriber topics). Then, MqttIm only: commands to online devices at a fixed rate
/// over the HTTP API with <c>waitSeconds</c>, the devices replying at once: issue → final state (succeeded) p50/p99.
/// </summary>
public static class IotScenario
{
    private const int SampleEvery = 10;
    private const string Owner = "iot-owner";

    public static async Task RunAsync(BrokerUnderTest broker, BenchOptions o, Action<ResultRow> emit)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        var n = o.IotDevices;
        var ids = Enumerable.Range(0, n).Select(i => $"dev{runId}-{i}").ToArray();
        var im = broker as MqttImBroker;
        var tokens = im is null ? null : await RegisterAsync(im, ids).ConfigureAwait(false);

        var latency = new LatencyHistogram();
        long received = 0, measuredReceived = 0;
        RunClock? clock = null;
        var owner = await Clients.ConnectAsync(broker, Owner, $"{Owner}-{runId}", null, args =>
        {
            var now = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref received);
            if (clock is { } c && c.InWindow(now) && SentAt(args.ApplicationMessage.Payload) is var sentAt and > 0)
            {
                latency.RecordTicks(now - sentAt);
                Interlocked.Increment(ref measuredReceived);
            }

            return Task.CompletedTask;
        }, CancellationToken.None).ConfigureAwait(false);
        for (var i = 0; i < n; i += SampleEvery * 100)
        {
            var subscribe = new MqttClientSubscribeOptionsBuilder();
            for (var k = i; k < Math.Min(n, i + SampleEvery * 100); k += SampleEvery)
            {
                subscribe.WithTopicFilter($"device/{ids[k]}/telemetry", MqttQualityOfServiceLevel.AtLeastOnce);
            }

            var granted = await owner.SubscribeAsync(subscribe.Build()).ConfigureAwait(false);
            if (granted.Items.FirstOrDefault(x => x.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2) is { } refused)
            {
                throw new InvalidOperationException($"owner subscription to {refused.TopicFilter.Topic} refused: {refused.ResultCode}");
            }
        }

        // Devices: MqttIm devices sign in with their device token; each listens for its commands and answers at once.
        var devices = new IMqttClient[n];
        long replies = 0;
        Log.Info(Fmt.Inv($"  {broker.Name}: connecting {n:N0} devices"));
        var connected = await Clients.ConnectManyAsync(broker, n, o.ConnectConcurrency,
            i => (ids[i], ids[i], im is null ? null : $"device/{ids[i]}/cmd/#"),
            i => args =>
            {
                var topic = args.ApplicationMessage.Topic;
                if (topic.Contains("/cmd/", StringComparison.Ordinal) && !topic.EndsWith("/reply", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref replies);
                    _ = devices[i].PublishAsync(new MqttApplicationMessage
                    {
                        Topic = topic + "/reply",
                        PayloadSegment = "{\"status\":\"succeeded\",\"result\":{\"ok\":true}}"u8.ToArray(),
                        QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                    });
                }

                return Task.CompletedTask;
            },
            TimeSpan.FromMinutes(5),
            configure: b =>
            {
                if (tokens is not null)
                {
                    var user = b.Build().ClientId;
                    b.WithCredentials(user, tokens[user]);
                }
            }).ConfigureAwait(false);
        connected.CopyTo(devices, 0);

        try
        {
            if (!o.IotCommandsOnly)
            {
                emit(await TelemetryAsync(broker, o, ids, devices, latency, () => Interlocked.Read(ref measuredReceived), c => clock = c).ConfigureAwait(false));
            }

            if (im is not null)
            {
                emit(await CommandsAsync(im, o, ids).ConfigureAwait(false));
            }
        }
        finally
        {
            await Clients.DisposeAllAsync([owner, .. devices], disconnect: false).ConfigureAwait(false);
        }
    }

    private static async Task<ResultRow> TelemetryAsync(BrokerUnderTest broker, BenchOptions o, string[] ids, IMqttClient[] devices,
        LatencyHistogram latency, Func<long> measuredReceived, Action<RunClock> setClock)
    {
        var n = ids.Length;
        var rate = n / o.IotTelemetryPeriodSeconds;
        var clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
        setClock(clock);
        long sent = 0, acked = 0, measuredAcked = 0, failures = 0, shed = 0, outstanding = 0;
        var maxOutstanding = Math.Max(1000, (int)rate);
        using var stop = new CancellationTokenSource();
        // Four pacers, each owning every 4th device in turn, 10 ms ticks.
        const int pacers = 4;
        var loops = Enumerable.Range(0, pacers).Select(p => Task.Run(async () =>
        {
            var perTick = rate / pacers / 100.0;
            var credit = 0.0;
            var next = Stopwatch.GetTimestamp();
            var cursor = p;
            while (!stop.IsCancellationRequested)
            {
                next += Stopwatch.Frequency / 100;
                await RunClock.DelayUntil(next).ConfigureAwait(false);
                credit += perTick;
                for (; credit >= 1; credit--)
                {
                    if (Interlocked.Read(ref outstanding) >= maxOutstanding)
                    {
                        Interlocked.Increment(ref shed);
                        continue;
                    }

                    var device = devices[cursor];
                    var topic = $"device/{ids[cursor]}/telemetry";
                    cursor = (cursor + pacers) % n;
                    var payload = Encoding.UTF8.GetBytes($"{{\"ts\":{Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)},\"temp\":21.5,\"rpm\":1200}}");
                    Interlocked.Increment(ref sent);
                    Interlocked.Increment(ref outstanding);
                    _ = device.PublishAsync(new MqttApplicationMessage { Topic = topic, PayloadSegment = payload, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce, ContentType = "application/json" })
                        .ContinueWith(t =>
                        {
                            Interlocked.Decrement(ref outstanding);
                            if (t.IsCompletedSuccessfully && t.Result.IsSuccess)
                            {
                                Interlocked.Increment(ref acked);
                                if (clock.InWindow(Stopwatch.GetTimestamp()))
                                {
                                    Interlocked.Increment(ref measuredAcked);
                                }
                            }
                            else
                            {
                                Interlocked.Increment(ref failures);
                            }
                        }, TaskScheduler.Default);
                }
            }
        })).ToArray();

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);
        await RelayScenario.DrainAsync(() => Interlocked.Read(ref outstanding), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var ackRate = measuredAcked / clock.MeasureSeconds;
        return new ResultRow("iot", broker.Name,
            Fmt.Inv($"telemetry fan-in: {n:N0} devices × 1 QoS 1 JSON point / {o.IotTelemetryPeriodSeconds:G} s (offered {rate:N0} msg/s), owner subscribed to every {SampleEvery}th device{(broker.Kind == BrokerKind.MqttIm ? ", each point stored before PUBACK" : ", not persisted")}"),
            Fmt.Rate(ackRate, "acked msg/s"),
            Fmt.Ms(latency.Percentile(50)), Fmt.Ms(latency.Percentile(99)), Fmt.Ms(latency.MaxMicros),
            Fmt.Inv($"latency = device publish → owner's subscription; broker {RelayScenario.PerMessage(cpu.BrokerCpu, measuredAcked)}/msg; {measuredReceived() / clock.MeasureSeconds:N0} msg/s to the owner; {Interlocked.Read(ref failures)} failed{(shed > 0 ? $", {shed:N0} not offered (> {maxOutstanding:N0} unacked)" : "")}"),
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = ackRate, OtherCpuSeconds = cpu.OtherCpu, CpuMicrosPerMessage = RelayScenario.CpuMicros(cpu.BrokerCpu, measuredAcked), P99Micros = latency.Percentile(99) };
    }

    private static async Task<ResultRow> CommandsAsync(MqttImBroker broker, BenchOptions o, string[] ids)
    {
        // Several issuers, each with its own connection pool, so one client pacer or pool is not what limits the rate: a
        // synchronous command holds its HTTP/1.1 connection until the reply, so 1,000/s at 1 s latency needs ~1,000 of them.
        const int issuers = 4;
        var handlers = Enumerable.Range(0, issuers).Select(_ => new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2) }).ToArray();
        var clients = handlers.Select(h =>
        {
            var client = new HttpClient(h) { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Add("X-Admin-Key", broker.AdminKey);
            return client;
        }).ToArray();
        using var disposeClients = new DisposeAll([.. clients, .. handlers]);
        var latency = new LatencyHistogram();
        var clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
        long issued = 0, succeeded = 0, measured = 0, failed = 0, shed = 0, outstanding = 0;
        string? firstFailure = null;
        var rate = o.IotCommandRate;
        using var stop = new CancellationTokenSource();
        using var body = JsonContent.Create(new { name = "ping", payload = new { n = 1 }, waitSeconds = 10 });
        await body.LoadIntoBufferAsync().ConfigureAwait(false);
        var bodyBytes = await body.ReadAsByteArrayAsync().ConfigureAwait(false);
        var requests = new List<Task>();
        // Each issuer owns every issuers-th device in turn (so one device's commands come from one issuer), 10 ms ticks.
        var pacers = Enumerable.Range(0, issuers).Select(p => Task.Run(async () =>
        {
            var http = clients[p];
            var perTick = rate / issuers / 100.0;
            var credit = 0.0;
            var next = Stopwatch.GetTimestamp();
            var cursor = p % ids.Length;
            while (!stop.IsCancellationRequested)
            {
                next += Stopwatch.Frequency / 100;
                await RunClock.DelayUntil(next).ConfigureAwait(false);
                credit += perTick;
                for (; credit >= 1; credit--)
                {
                    if (Interlocked.Read(ref outstanding) >= 2_000)
                    {
                        Interlocked.Increment(ref shed);
                        continue;
                    }

                    var deviceId = ids[cursor];
                    cursor = (cursor + issuers) % ids.Length;
                    Interlocked.Increment(ref issued);
                    Interlocked.Increment(ref outstanding);
                    var task = IssueAsync(http, deviceId);
                    lock (requests)
                    {
                        requests.Add(task);
                    }
                }
            }
        })).ToArray();

        async Task IssueAsync(HttpClient http, string deviceId)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var content = new ByteArrayContent(bodyBytes);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync(new Uri($"/api/devices/{deviceId}/commands", UriKind.Relative), content).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                var now = Stopwatch.GetTimestamp();
                if ((int)response.StatusCode == 200 && text.Contains("\"succeeded\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref succeeded);
                    if (clock.InWindow(now))
                    {
                        latency.RecordTicks(now - started);
                        Interlocked.Increment(ref measured);
                    }
                }
                else
                {
                    Interlocked.Increment(ref failed);
                    firstFailure ??= $"{(int)response.StatusCode} {text[..Math.Min(120, text.Length)]}";
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref failed);
                firstFailure ??= ex.Message;
            }
            finally
            {
                Interlocked.Decrement(ref outstanding);
            }
        }

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(pacers).ConfigureAwait(false);
        Task[] all;
        lock (requests)
        {
            all = [.. requests];
        }

        try
        {
            await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(40)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            firstFailure ??= "requests still open 40 s after the run";
        }

        var okRate = measured / clock.MeasureSeconds;
        return new ResultRow("iot", broker.Name,
            Fmt.Inv($"commands: {rate:N0}/s offered over HTTP by {issuers} issuers (POST /api/devices/{{id}}/commands, waitSeconds 10) to {ids.Length:N0} online devices, each replying at once"),
            Fmt.Rate(okRate, "succeeded cmd/s"),
            Fmt.Ms(latency.Percentile(50)), Fmt.Ms(latency.Percentile(99)), Fmt.Ms(latency.MaxMicros),
            Fmt.Inv($"latency = issue → HTTP answer with the final state succeeded (stored, sent, PUBACKed, reply stored); broker {RelayScenario.PerMessage(cpu.BrokerCpu, measured)}/command; {issued:N0} issued, {succeeded:N0} succeeded, {failed:N0} failed{(firstFailure is null ? "" : $" (first: {firstFailure})")}{(shed > 0 ? $", {shed:N0} not offered (> 2,000 open)" : "")}"),
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = okRate, OtherCpuSeconds = cpu.OtherCpu, CpuMicrosPerMessage = RelayScenario.CpuMicros(cpu.BrokerCpu, measured), P99Micros = latency.Percentile(99) };
    }

    /// <summary>Registers the devices (token-only: no PBKDF2 secret to verify at every connect) owned by <see cref="Owner"/>; device id → token.</summary>
    private static async Task<Dictionary<string, string>> RegisterAsync(MqttImBroker broker, string[] ids)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", broker.AdminKey);
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var i && i < ids.Length)
            {
                using var response = await http.PostAsJsonAsync("/api/admin/devices", new { deviceId = ids[i], owners = new[] { Owner }, tokenOnly = true }).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
                var token = doc.RootElement.GetProperty("token").GetString()!;
                lock (tokens)
                {
                    tokens[ids[i]] = token;
                }
            }
        })).ConfigureAwait(false);
        Log.Info(Fmt.Inv($"  MqttIm: {ids.Length:N0} devices registered in {watch.Elapsed.TotalSeconds:F1} s"));
        return tokens;
    }

    /// <summary>The Stopwatch timestamp after <c>"ts":</c> in a telemetry payload (MqttIm forwards it as stored), or 0.</summary>
    private static long SentAt(ReadOnlySequence<byte> payload)
    {
        Span<byte> head = stackalloc byte[32];
        var len = (int)Math.Min(payload.Length, head.Length);
        payload.Slice(0, len).CopyTo(head);
        var text = Encoding.ASCII.GetString(head[..len]);
        var at = text.IndexOf("\"ts\":", StringComparison.Ordinal);
        if (at < 0)
        {
            return 0;
        }

        var digits = text[(at + 5)..];
        var end = 0;
        while (end < digits.Length && char.IsAsciiDigit(digits[end]))
        {
            end++;
        }

        return long.TryParse(digits[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }
}

/// <summary>Disposes the bench's HTTP clients and handlers together.</summary>
internal sealed class DisposeAll(IDisposable[] items) : IDisposable
{
    public void Dispose()
    {
        foreach (var item in items)
        {
            item.Dispose();
        }
    }
}
