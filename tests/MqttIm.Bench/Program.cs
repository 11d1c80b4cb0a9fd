using System.Diagnostics;
using System.Text;
using MQTTnet.Protocol;
using MqttIm.Bench;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (HelpRequestedException)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var repoRoot = FindRepoRoot();
var brokerDll = options.BrokerDll ?? Path.Combine(repoRoot, "src", "Broker", "bin", "Release", "net10.0", "MqttIm.Broker.dll");
if (!File.Exists(brokerDll))
{
    Console.Error.WriteLine($"MqttIm broker not found at {brokerDll}. Build it first: dotnet build src/Broker -c Release (or pass --broker-dll).");
    return 2;
}

var (soft, hard) = ProcInfo.RaiseOpenFilesLimit();
// Many thousand clients on two cores: keep a few threads ready so the first bursts do not wait for thread injection.
ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
ThreadPool.SetMinThreads(Math.Max(minWorkers, 16), Math.Max(minIo, 16));

var mosquittoInstalled = MosquittoBroker.IsInstalled(options.MosquittoPath);
var mosquittoSkip = $"skipped: mosquitto not found at {options.MosquittoPath} (install it: apt-get install -y mosquitto)";
if (!mosquittoInstalled)
{
    Console.Error.WriteLine($"Mosquitto is not installed at {options.MosquittoPath}; its rows are skipped. Install it with: apt-get install -y mosquitto");
}

if (options.Connections + 100 > (long)soft - 200 || options.ChatLargeUsers + 100 > (long)soft - 200)
{
    Console.Error.WriteLine($"warning: open-files limit {soft} (hard {hard}) is low for {Math.Max(options.Connections, options.ChatLargeUsers):N0} connections; raise the hard limit (ulimit -Hn) or lower --connections/--chat-users");
}

Log.Info($"MqttIm.Bench: scenarios {string.Join(',', options.Scenarios)}{(options.Quick ? " (quick)" : "")}; broker {brokerDll}; open files {soft}/{hard}");
var rows = new List<ResultRow>();
void Emit(ResultRow row)
{
    rows.Add(row);
    Console.WriteLine(row.ToMarkdown());
}

var suiteWatch = Stopwatch.StartNew();
var selfCpuStart = ProcInfo.CpuSeconds(0);
Console.WriteLine(ResultRow.Header);

async Task<BrokerUnderTest> StartBroker(BrokerKind kind) => kind == BrokerKind.MqttIm
    ? await MqttImBroker.StartAsync(brokerDll)
    : await MosquittoBroker.StartAsync(options.MosquittoPath);

async Task PerBroker(string scenario, string settings, Func<BrokerUnderTest, Task> run)
{
    foreach (var kind in options.Brokers)
    {
        if (kind == BrokerKind.Mosquitto && !mosquittoInstalled)
        {
            Emit(ResultRow.Skipped(scenario, kind.ToString(), settings, mosquittoSkip));
            continue;
        }

        Log.Info($"{scenario} on {kind}");
        BrokerUnderTest? broker = null;
        try
        {
            broker = await StartBroker(kind);
            await run(broker);
        }
        catch (Exception ex)
        {
            Emit(ResultRow.Skipped(scenario, kind.ToString(), settings, "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
            Log.Info(ex.ToString());
            if (broker is not null)
            {
                Log.Info("broker output:\n" + broker.Output);
            }
        }
        finally
        {
            if (broker is not null)
            {
                await broker.DisposeAsync();
            }
        }
    }
}

foreach (var scenario in options.Scenarios)
{
    switch (scenario)
    {
        case "relay":
            await PerBroker("relay", "QoS 0 and 1", async broker =>
            {
                foreach (var qos in new[] { MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce })
                {
                    Emit(await RelayScenario.RunAsync(broker, qos, options));
                }
            });
            break;
        case "fanout":
            await PerBroker("fanout", "QoS 0 and 1", async broker =>
            {
                foreach (var qos in new[] { MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce })
                {
                    Emit(await FanoutScenario.RunAsync(broker, qos, options));
                }
            });
            break;
        case "conns":
            await PerBroker("conns", Fmt.Inv($"{options.Connections:N0} idle connections"), async broker => Emit(await ConnsScenario.RunAsync(broker, options)));
            break;
        case "chat":
            foreach (var users in new[] { options.ChatSmallUsers, options.ChatLargeUsers }.Distinct())
            {
                Log.Info($"chat with U={users:N0} on MqttIm");
                try
                {
                    await ChatScenario.RunAsync(brokerDll, users, options, Emit);
                }
                catch (Exception ex)
                {
                    Emit(ResultRow.Skipped("chat", "MqttIm", Fmt.Inv($"U={users:N0}"), "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
                    Log.Info(ex.ToString());
                }
            }

            break;
        case "room":
            await PerBroker("room", Fmt.Inv($"{options.RoomViewers:N0} viewers"), async broker => Emit(await RoomScenario.RunAsync(broker, options)));
            break;
        case "group":
            Log.Info("group on MqttIm");
            await GroupScenario.RunAsync(brokerDll, options, Emit);
            break;
        case "push":
            Log.Info("push on MqttIm");
            try
            {
                await PushScenario.RunAsync(brokerDll, options, Emit);
            }
            catch (Exception ex)
            {
                Emit(ResultRow.Skipped("push", "MqttIm", "fake APNs", "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
                Log.Info(ex.ToString());
            }

            break;
        case "pipeline":
            await PipelineScenario.RunAsync(brokerDll, options, Emit);
            break;
        case "chat-cluster":
            Log.Info("chat across a 3-node cluster (Redis + PostgreSQL)");
            try
            {
                await ClusterChatScenario.RunAsync(options, Emit);
            }
            catch (Exception ex)
            {
                Emit(ResultRow.Skipped("chat-cluster", "MqttIm×3", "3 nodes", "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
                Log.Info(ex.ToString());
            }

            break;
        case "iot": Log.Info("iot: telemetry fan-in (MqttIm persisted, Mosquitto relayed) and commands/s"); await IotScenario.RunAsync(brokerDll, options, Emit); break;
    }
}

var summary = Summary(rows, options);
Console.WriteLine();
Console.WriteLine(summary);
var suiteSeconds = suiteWatch.Elapsed.TotalSeconds;
var selfCpuTotal = ProcInfo.CpuSeconds(0) - selfCpuStart;
Log.Info(Fmt.Inv($"suite finished in {suiteSeconds:F0} s (load generator used {selfCpuTotal:F0} CPU s)"));

if (options.WritePath is { } path)
{
    var target = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
    ReportWriter.Write(target, options, rows, summary, suiteSeconds, selfCpuTotal, (soft, hard));
    Log.Info($"report written to {target}");
}

return 0;

static string FindRepoRoot()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MqttIm.sln")))
            {
                return dir.FullName;
            }
        }
    }

    return Directory.GetCurrentDirectory();
}

static string Summary(List<ResultRow> rows, BenchOptions o)
{
    var sb = new StringBuilder();
    sb.AppendLine("Ratios:");
    string Ratio(double a, double b) => b > 0 && a > 0 ? Fmt.Inv($"{a / b:F2}×") : "n/a";
    foreach (var scenario in new[] { "relay", "fanout" })
    {
        foreach (var qos in new[] { "QoS 0", "QoS 1" })
        {
            var im = rows.FirstOrDefault(r => r.Scenario == scenario && r.Broker == "MqttIm" && r.Settings.StartsWith(qos, StringComparison.Ordinal) && r.Value > 0);
            var mq = rows.FirstOrDefault(r => r.Scenario == scenario && r.Broker == "Mosquitto" && r.Settings.StartsWith(qos, StringComparison.Ordinal) && r.Value > 0);
            if (im is not null && mq is not null)
            {
                sb.AppendLine(Fmt.Inv($"- {scenario} {qos}: MqttIm / Mosquitto throughput = {Ratio(im.Value, mq.Value)} ({im.Throughput} vs {mq.Throughput}; p99 {im.P99} vs {mq.P99})"));
            }
        }
    }

    var ri = rows.FirstOrDefault(r => r.Scenario == "room" && r.Broker == "MqttIm" && r.Secondary > 0);
    var rm = rows.FirstOrDefault(r => r.Scenario == "room" && r.Broker == "Mosquitto" && r.Secondary > 0);
    if (ri is not null && rm is not null)
    {
        var cpuRatio = ri.Secondary / rm.Secondary;
        sb.AppendLine(Fmt.Inv($"- room: broker CPU per delivered room message MqttIm / Mosquitto = {cpuRatio:F2}× ({ri.Secondary:F2} vs {rm.Secondary:F2} µs; delivered {ri.Throughput} vs {rm.Throughput}; p99 {ri.P99} vs {rm.P99}) — target ≤ 0.25: {(cpuRatio <= 0.25 ? "met" : "NOT met")}"));
    }

    var ci = rows.FirstOrDefault(r => r.Scenario == "conns" && r.Broker == "MqttIm" && r.Secondary > 0);
    var cm = rows.FirstOrDefault(r => r.Scenario == "conns" && r.Broker == "Mosquitto" && r.Secondary > 0);
    if (ci is not null && cm is not null)
    {
        sb.AppendLine(Fmt.Inv($"- conns: MqttIm / Mosquitto RSS per connection = {Ratio(ci.Value, cm.Value)} ({ci.Value / 1024:F1} vs {cm.Value / 1024:F1} KiB); time to connect all = {Ratio(ci.Secondary, cm.Secondary)} ({ci.Secondary:F1} s vs {cm.Secondary:F1} s)"));
    }

    foreach (var offered in new[] { "offered", "flat out" })
    {
        var small = rows.FirstOrDefault(r => r.Scenario == "chat" && r.Settings.StartsWith(Fmt.Inv($"U={o.ChatSmallUsers:N0} "), StringComparison.Ordinal) && r.Settings.Contains(offered, StringComparison.Ordinal) && r.Value > 0);
        var large = rows.FirstOrDefault(r => r.Scenario == "chat" && r.Settings.StartsWith(Fmt.Inv($"U={o.ChatLargeUsers:N0} "), StringComparison.Ordinal) && r.Settings.Contains(offered, StringComparison.Ordinal) && r.Value > 0);
        if (small is not null && large is not null && !ReferenceEquals(small, large))
        {
            var ratio = large.Value / small.Value;
            sb.AppendLine(Fmt.Inv($"- chat {offered}: U={o.ChatLargeUsers:N0} / U={o.ChatSmallUsers:N0} accepted throughput = {ratio:F2}× ({large.Throughput} vs {small.Throughput}; e2e p99 {large.P99} vs {small.P99}) — target ≥ 0.80: {(ratio >= 0.8 ? "met" : "NOT met")}"));
        }
    }

    return sb.ToString().TrimEnd();
}
