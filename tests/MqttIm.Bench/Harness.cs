using System.Diagnostics;
using System.Globalization;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>One line of the results table.</summary>
public sealed record ResultRow(
    string Scenario,
    string Broker,
    string Settings,
    string Throughput,
    string P50,
    string P99,
    string Max,
    string Notes,
    double BrokerCpuSeconds,
    double LoadGenCpuSeconds,
    double Seconds,
    long BrokerRssBytes)
{
    /// <summary>Numeric throughput for ratios (msgs/s, deliveries/s, connections/s or bytes per connection).</summary>
    public double Value { get; init; }

    /// <summary>Which round of <c>--rounds</c> the row came from (1 in a single-round run).</summary>
    public int Round { get; init; } = 1;

    /// <summary>CPU seconds used by other processes on the machine during the window (noise).</summary>
    public double OtherCpuSeconds { get; init; } = double.NaN;

    /// <summary>A second number for ratios (connect seconds in conns, ack p99 in chat).</summary>
    public double Secondary { get; init; }

    /// <summary>Broker CPU µs per message (delivery, acked chat message) for the cross-broker and chat ÷ relay ratios.</summary>
    public double CpuMicrosPerMessage { get; init; } = double.NaN;

    /// <summary>Which variant of its scenario a row is (e.g. conns "v311" / "v5-sub"), for pairing rows across brokers in the ratios.</summary>
    public string Variant { get; init; } = "";

    /// <summary>p99 latency in µs, for ratios.</summary>
    public long P99Micros { get; init; } = -1;

    public static string Header =>
        "| Scenario | Broker | Settings | Throughput | p50 | p99 | max | Notes | Broker CPU s (cores) | Load-gen CPU s (cores) | Other CPU s | Broker RSS |\n" +
        "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|";

    public string ToMarkdown()
    {
        static string Cores(double cpu, double seconds) =>
            double.IsNaN(cpu) ? "–" : seconds > 0 ? Fmt.Inv($"{cpu:F1} ({cpu / seconds:F2})") : Fmt.Inv($"{cpu:F1}");
        return $"| {Scenario} | {Broker} | {Settings} | {Throughput} | {P50} | {P99} | {Max} | {Notes} | {Cores(BrokerCpuSeconds, Seconds)} | {Cores(LoadGenCpuSeconds, Seconds)} | {(double.IsNaN(OtherCpuSeconds) ? "–" : Fmt.Inv($"{OtherCpuSeconds:F1}"))} | {(BrokerRssBytes > 0 ? Fmt.MiB(BrokerRssBytes) : "–")} |";
    }

    public static ResultRow Skipped(string scenario, string broker, string settings, string reason) =>
        new(scenario, broker, settings, "–", "–", "–", "–", reason, double.NaN, double.NaN, 0, -1);
}

public static class Fmt
{
    public static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    public static string Ms(long micros) => micros < 10_000 ? Inv($"{micros / 1000.0:F2} ms") : Inv($"{micros / 1000.0:F0} ms");

    public static string Rate(double perSecond, string unit) => Inv($"{perSecond:N0} {unit}");

    public static string MiB(long bytes) => Inv($"{bytes / 1024.0 / 1024.0:F0} MiB");
}

/// <summary>CPU seconds of the broker and of this process, and wall time, between <see cref="Start"/> and <see cref="Stop"/>.</summary>
public sealed class CpuWindow
{
    private readonly BrokerUnderTest _broker;
    private double _brokerStart;
    private double _selfStart;
    private double _machineStart;
    private long _started;

    public CpuWindow(BrokerUnderTest broker) => _broker = broker;

    public double BrokerCpu { get; private set; }

    public double SelfCpu { get; private set; }

    public double Seconds { get; private set; }

    /// <summary>CPU used by everything else on the machine (other builds, tests…) during the window.</summary>
    public double OtherCpu { get; private set; }

    public CpuWindow Start()
    {
        _machineStart = ProcInfo.MachineBusySeconds();
        _brokerStart = _broker.CpuSeconds();
        _selfStart = ProcInfo.CpuSeconds(0);
        _started = Stopwatch.GetTimestamp();
        return this;
    }

    public CpuWindow Stop()
    {
        Seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        BrokerCpu = _broker.CpuSeconds() - _brokerStart;
        SelfCpu = ProcInfo.CpuSeconds(0) - _selfStart;
        OtherCpu = Math.Max(0, ProcInfo.MachineBusySeconds() - _machineStart - BrokerCpu - SelfCpu);
        return this;
    }
}

/// <summary>Creating and connecting many MQTTnet clients with bounded concurrency.</summary>
public static class Clients
{
    private static readonly MqttClientFactory Factory = new();

    public static IMqttClient Create() => Factory.CreateMqttClient();

    /// <summary>Connects (and optionally subscribes) one client; throws with the broker's reason on refusal.</summary>
    public static async Task<IMqttClient> ConnectAsync(
        BrokerUnderTest broker, string userId, string clientId, string? subscribeTopic,
        Func<MqttApplicationMessageReceivedEventArgs, Task>? onMessage, CancellationToken ct,
        MqttQualityOfServiceLevel subscribeQos = MqttQualityOfServiceLevel.AtLeastOnce, Action<MqttClientOptionsBuilder>? configure = null)
    {
        var client = Create();
        if (onMessage is not null)
        {
            client.ApplicationMessageReceivedAsync += onMessage;
        }

        var options = broker.ClientOptions(userId, clientId);
        configure?.Invoke(options);
        var result = await client.ConnectAsync(options.Build(), ct).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException($"connect of {clientId} to {broker.Name} refused: {result.ResultCode} {result.ReasonString}");
        }

        if (subscribeTopic is not null)
        {
            var sub = await client.SubscribeAsync(subscribeTopic, subscribeQos, ct).ConfigureAwait(false);
            var code = sub.Items.First().ResultCode;
            if (code > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                client.Dispose();
                throw new InvalidOperationException($"subscribe of {clientId} to {subscribeTopic} on {broker.Name} refused: {code}");
            }
        }

        return client;
    }

    /// <summary>Connects <paramref name="count"/> clients, at most <paramref name="concurrency"/> at a time. Index i gets (user, clientId, topic).</summary>
    public static async Task<IMqttClient[]> ConnectManyAsync(
        BrokerUnderTest broker, int count, int concurrency, Func<int, (string User, string ClientId, string? Topic)> identity,
        Func<int, Func<MqttApplicationMessageReceivedEventArgs, Task>?>? handler, TimeSpan timeLimit,
        MqttQualityOfServiceLevel subscribeQos = MqttQualityOfServiceLevel.AtLeastOnce, Action<MqttClientOptionsBuilder>? configure = null)
    {
        var clients = new IMqttClient[count];
        using var cts = new CancellationTokenSource(timeLimit);
        var next = -1;
        var progress = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Math.Max(1, Math.Min(concurrency, count))).Select(async _ =>
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }

                var (user, clientId, topic) = identity(i);
                clients[i] = await ConnectAsync(broker, user, clientId, topic, handler?.Invoke(i), cts.Token, subscribeQos, configure).ConfigureAwait(false);
                if (count >= 2000 && (i + 1) % 2000 == 0)
                {
                    Log.Info(Fmt.Inv($"  {broker.Name}: {i + 1:N0}/{count:N0} connected after {progress.Elapsed.TotalSeconds:F1} s"));
                }
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        catch
        {
            await DisposeAllAsync(clients.Where(c => c is not null).ToArray(), disconnect: false).ConfigureAwait(false);
            throw;
        }

        return clients;
    }

    /// <summary>Disconnects cleanly (bounded) and disposes.</summary>
    public static async Task DisposeAllAsync(IMqttClient[] clients, bool disconnect = true)
    {
        if (disconnect)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var next = -1;
            var workers = Enumerable.Range(0, Math.Min(200, Math.Max(1, clients.Length))).Select(async _ =>
            {
                while (true)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= clients.Length || cts.IsCancellationRequested)
                    {
                        return;
                    }

                    try
                    {
                        if (clients[i]?.IsConnected == true)
                        {
                            await clients[i].DisconnectAsync(new MqttClientDisconnectOptions(), cts.Token).ConfigureAwait(false);
                        }
                    }
                    catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
                    {
                    }
                }
            });
            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        foreach (var client in clients)
        {
            client?.Dispose();
        }
    }
}

public static class Log
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static void Info(string message) => Console.Error.WriteLine(Fmt.Inv($"[{Clock.Elapsed.TotalSeconds,6:F1}s] {message}"));
}
