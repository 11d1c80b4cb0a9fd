using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;

namespace MqttIm.Bench;

/// <summary>
/// conns: C idle connections, either MQTT 3.1.1 without a subscription, or MQTT 5 each subscribed (MqttIm: its own
/// inbox; the others: a per-client plain topic). RSS per connection is the growth of the broker's VmRSS over C.
/// </summary>
public static class ConnsScenario
{
    /// <summary>Both variants, each on fresh brokers (the run ends by killing the broker under its connections).</summary>
    public static async Task RunVariantsAsync(BenchRun run)
    {
        foreach (var (version, subscribe) in new[] { (MqttProtocolVersion.V311, false), (MqttProtocolVersion.V500, true) })
        {
            await run.PerBrokerAsync("conns", Fmt.Inv($"{run.Options.Connections:N0} idle connections"),
                async b => run.Emit(await RunAsync(b, run.Options, version, subscribe).ConfigureAwait(false))).ConfigureAwait(false);
        }
    }

    public static async Task<ResultRow> RunAsync(BrokerUnderTest broker, BenchOptions o, MqttProtocolVersion version, bool subscribe)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        var mqttIm = broker.Kind == BrokerKind.MqttIm;
        (string, string, string?) Identity(int i, string prefix) => !subscribe
            ? ($"{prefix}{i}", $"{prefix}{i}-{runId}", null)
            : mqttIm
                ? ($"{prefix}{i}", $"{prefix}{i}-{runId}", $"inbox/{prefix}{i}")
                : ($"{prefix}{i}", $"{prefix}{i}-{runId}", $"bench/conn/{prefix}{i}");
        Action<MqttClientOptionsBuilder> protocol = b => b.WithProtocolVersion(version);

        // Warm the connect path (JIT, pools) so the baseline RSS is not the cold process.
        var warm = await Clients.ConnectManyAsync(broker, 100, 50, i => Identity(i, "warm"), null, TimeSpan.FromSeconds(60), configure: protocol).ConfigureAwait(false);
        await Clients.DisposeAllAsync(warm).ConfigureAwait(false);
        await Task.Delay(1000).ConfigureAwait(false);
        var collected = await CollectAsync(broker).ConfigureAwait(false);
        var rssBefore = broker.ResidentBytes();
        var heapBefore = await ManagedHeapAsync(broker).ConfigureAwait(false);

        // Connected in two steps: the growth from the first fifth to all is the marginal cost of one more connection,
        // free of one-time costs the first connections also pay (tier-1 JIT of the connect path, pools growing).
        var first = Math.Max(1, o.Connections / 5);
        var cpu = new CpuWindow(broker).Start();
        var started = Stopwatch.GetTimestamp();
        var firstClients = await Clients.ConnectManyAsync(broker, first, o.ConnectConcurrency, i => Identity(i, "idle"), null, TimeSpan.FromMinutes(4), configure: protocol).ConfigureAwait(false);
        var firstSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        cpu.Stop();
        await Task.Delay(2000).ConfigureAwait(false);
        collected &= await CollectAsync(broker).ConfigureAwait(false);
        var rssMid = broker.ResidentBytes();
        var heapMid = await ManagedHeapAsync(broker).ConfigureAwait(false);
        var cpuRest = new CpuWindow(broker).Start();
        var restStarted = Stopwatch.GetTimestamp();
        var restClients = await Clients.ConnectManyAsync(broker, o.Connections - first, o.ConnectConcurrency, i => Identity(i + first, "idle"), null, TimeSpan.FromMinutes(4), configure: protocol).ConfigureAwait(false);
        var connectSeconds = firstSeconds + Stopwatch.GetElapsedTime(restStarted).TotalSeconds;
        cpuRest.Stop();
        IMqttClient[] clients = [.. firstClients, .. restClients];

        // Hold the connections idle: let the connect burst's after-effects (tier-1 JIT, GC) settle, then measure idle CPU.
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(3, o.MeasureSeconds))).ConfigureAwait(false);
        var hold = new CpuWindow(broker).Start();
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, o.MeasureSeconds))).ConfigureAwait(false);
        hold.Stop();
        collected &= await CollectAsync(broker).ConfigureAwait(false);
        var rssAfter = broker.ResidentBytes();
        var heapAfter = await ManagedHeapAsync(broker).ConfigureAwait(false);
        var connected = clients.Count(c => c.IsConnected);
        if (o.ConnsHoldSeconds > 0)
        {
            Log.Info(Fmt.Inv($"  holding {connected:N0} connections for {o.ConnsHoldSeconds:F0} s (broker pid {broker.Pid})"));
            await Task.Delay(TimeSpan.FromSeconds(o.ConnsHoldSeconds)).ConfigureAwait(false);
        }

        // Kill the broker first: 10,000 clean disconnects would only measure teardown.
        await broker.DisposeAsync().ConfigureAwait(false);
        await Clients.DisposeAllAsync(clients, disconnect: false).ConfigureAwait(false);

        var marginal = o.Connections - first;
        var perConnection = (rssAfter - rssMid) / (double)marginal;
        var perConnectionAll = (rssAfter - rssBefore) / (double)o.Connections;
        var heapNote = heapBefore > 0 && heapAfter > 0
            ? Fmt.Inv($"; managed heap {(heapAfter - heapMid) / (double)marginal / 1024:F1} KiB/conn marginal, {(heapAfter - heapBefore) / (double)o.Connections / 1024:F1} KiB/conn overall ({Fmt.MiB(heapBefore)} → {Fmt.MiB(heapMid)} → {Fmt.MiB(heapAfter)}, /metrics{(collected ? ", after the induced GC" : ", not forced")})")
            : "";
        var rate = o.Connections / connectSeconds;
        return new ResultRow(
            "conns", broker.Name,
            Fmt.Inv($"{o.Connections:N0} idle MQTT {(version == MqttProtocolVersion.V500 ? "5" : "3.1.1")} conns, {(subscribe ? "1 subscription each" : "no subscription")} ({(mqttIm ? (subscribe ? "inbox/{user}, " : "") + "JWT auth" : (subscribe ? "plain topic, " : "") + "anonymous")}), {o.ConnectConcurrency} connecting at a time"),
            Fmt.Rate(rate, "conn/s"),
            "–", "–", "–",
            Fmt.Inv($"all connected in {connectSeconds:F1} s;{(collected ? " full GC induced before each reading;" : "")} {connected:N0} still up after hold; **RSS {perConnection / 1024:F1} KiB/conn** marginal (connections {first + 1:N0}–{o.Connections:N0}: {Fmt.MiB(rssMid)} → {Fmt.MiB(rssAfter)}), {perConnectionAll / 1024:F1} KiB/conn overall (from {Fmt.MiB(rssBefore)}); idle broker CPU {hold.BrokerCpu / hold.Seconds * 100:F1} % of a core{heapNote}"),
            cpu.BrokerCpu + cpuRest.BrokerCpu, cpu.SelfCpu + cpuRest.SelfCpu, cpu.Seconds + cpuRest.Seconds, rssAfter)
        { Value = perConnection, Secondary = connectSeconds, OtherCpuSeconds = cpu.OtherCpu + cpuRest.OtherCpu, Variant = subscribe ? "v5-sub" : "v311" };
    }

    /// <summary>
    /// A full GC in a .NET broker before an RSS reading (both bare MQTTnet and MqttIm alike; Mosquitto has no GC), so
    /// the figure is what the connections keep, not the connect burst's garbage still waiting for a collection.
    /// </summary>
    private static async Task<bool> CollectAsync(BrokerUnderTest broker) =>
        broker.Kind != BrokerKind.Mosquitto && await InducedGc.CollectAsync(broker.Pid, TimeSpan.FromSeconds(10)).ConfigureAwait(false);

    /// <summary>MqttIm's <c>dotnet_total_memory_bytes</c> (prometheus-net: GC.GetTotalMemory, live objects plus not yet collected garbage); 0 for others.</summary>
    private static async Task<long> ManagedHeapAsync(BrokerUnderTest broker)
    {
        if (broker is not MqttImBroker mqttIm)
        {
            return 0;
        }

        try
        {
            var text = await mqttIm.MetricsAsync().ConfigureAwait(false);
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("dotnet_total_memory_bytes ", StringComparison.Ordinal));
            return line is null ? 0 : (long)double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or FormatException)
        {
            return 0;
        }
    }
}
