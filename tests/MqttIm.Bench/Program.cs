using System.Diagnostics;
using System.Text;
using MQTTnet.Protocol;
using MqttIm.Bench;

if (args.Length > 0 && args[0] == BareMqttnetServer.Verb)
{
    return await BareMqttnetServer.RunAsync(args[1..]);
}

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
var round = 1;
void Emit(ResultRow row)
{
    if (options.Rounds > 1)
    {
        row = row with { Round = round, Notes = Fmt.Inv($"round {round}; {row.Notes}") };
    }

    rows.Add(row);
    Console.WriteLine(row.ToMarkdown());
}

var suiteWatch = Stopwatch.StartNew();
var selfCpuStart = ProcInfo.CpuSeconds(0);
Console.WriteLine(ResultRow.Header);

async Task<BrokerUnderTest> StartBroker(BrokerKind kind) => kind switch
{
    BrokerKind.MqttIm => await MqttImBroker.StartAsync(brokerDll),
    BrokerKind.BareMqttnet => await BareMqttnetBroker.StartAsync(),
    _ => await MosquittoBroker.StartAsync(options.MosquittoPath),
};

var run = new BenchRun(options, brokerDll, Emit, StartBroker, mosquittoInstalled);
for (; round <= options.Rounds; round++)
{
    if (options.Rounds > 1)
    {
        Log.Info($"round {round} of {options.Rounds}");
    }

    foreach (var scenario in Scenarios.All.Where(s => options.Scenarios.Contains(s.Name)))
    {
        await scenario.Run(run);
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
    sb.AppendLine(o.Rounds > 1 ? "Ratios (each line from round 1; the lines \"over N rounds\" pair each round's rows and give the median):" : "Ratios:");
    string Goal(double ratio, double goal) => double.IsNaN(ratio) ? "" : Fmt.Inv($" — goal ≤ {goal:F2}×: {(ratio <= goal ? "met" : "NOT met")}");
    ResultRow? Find(string scenario, string broker, Func<ResultRow, bool> match) =>
        rows.FirstOrDefault(r => r.Scenario == scenario && r.Broker == broker && r.Value > 0 && match(r));
    var bare = BrokerUnderTest.NameOf(BrokerKind.BareMqttnet);

    // Plain relay: CPU per message against the MQTTnet floor (the issue-8 goal) and against Mosquitto.
    foreach (var scenario in new[] { "pairs", "relay", "fanout" })
    {
        foreach (var qos in new[] { "QoS 1", "QoS 0" })
        {
            bool Match(ResultRow r) => r.Settings.StartsWith(qos, StringComparison.Ordinal);
            var im = Find(scenario, "MqttIm", Match);
            var floor = Find(scenario, bare, Match);
            var mq = Find(scenario, "Mosquitto", Match);
            // A row whose window saw (almost) no messages has no meaningful CPU per message: leave it out of the ratios.
            if (im is null || !(im.CpuMicrosPerMessage > 0) || (floor is null && mq is null))
            {
                continue;
            }

            floor = floor is { CpuMicrosPerMessage: > 0 } ? floor : null;
            mq = mq is { CpuMicrosPerMessage: > 0 } ? mq : null;
            var line = Fmt.Inv($"- {scenario} {qos}: broker CPU per {(scenario == "fanout" ? "delivery" : "message")}");
            if (floor is not null)
            {
                var cpu = im.CpuMicrosPerMessage / floor.CpuMicrosPerMessage;
                line += Fmt.Inv($" MqttIm ÷ bare MQTTnet = {cpu:F2}× ({im.CpuMicrosPerMessage:F1} vs {floor.CpuMicrosPerMessage:F1} µs){(scenario == "fanout" ? "" : Goal(cpu, 1.05))}");
            }

            if (mq is not null)
            {
                line += Fmt.Inv($"{(floor is not null ? ";" : "")} MqttIm ÷ Mosquitto = {im.CpuMicrosPerMessage / mq.CpuMicrosPerMessage:F2}× ({mq.CpuMicrosPerMessage:F1} µs)");
            }

            line += Fmt.Inv($"; throughput {im.Throughput} / {floor?.Throughput ?? "–"} / {mq?.Throughput ?? "–"}, p99 {im.P99} / {floor?.P99 ?? "–"} / {mq?.P99 ?? "–"} (MqttIm / bare MQTTnet / Mosquitto)");
            sb.AppendLine(line);
        }
    }

    // Idle connections: RSS per connection against the MQTTnet floor (goal ≤ 1.1×) and Mosquitto.
    foreach (var variant in new[] { "v311", "v5-sub" })
    {
        var im = Find("conns", "MqttIm", r => r.Variant == variant);
        var floor = Find("conns", bare, r => r.Variant == variant);
        var mq = Find("conns", "Mosquitto", r => r.Variant == variant);
        if (im is null || (floor is null && mq is null))
        {
            continue;
        }

        var label = variant == "v311" ? "MQTT 3.1.1, no subscription" : "MQTT 5, 1 subscription (MqttIm: inbox)";
        var mem = floor is null ? double.NaN : im.Value / floor.Value;
        sb.AppendLine(Fmt.Inv($"- conns ({label}): RSS per idle connection MqttIm ÷ bare MQTTnet = {(floor is null ? "n/a" : Fmt.Inv($"{mem:F2}×"))}{Goal(mem, 1.10)} ({im.Value / 1024:F1} vs {(floor is null ? "–" : Fmt.Inv($"{floor.Value / 1024:F1}"))} KiB; Mosquitto {(mq is null ? "–" : Fmt.Inv($"{mq.Value / 1024:F1}"))} KiB); time to connect all {im.Secondary:F1} / {floor?.Secondary ?? double.NaN:F1} / {mq?.Secondary ?? double.NaN:F1} s"));
    }

    // Chat under the many-connection load against a relayed QoS 1 plain message in the same run (issue 8: ≤ 1.2×).
    var chatMany = Find("chat-many", "MqttIm", r => !double.IsNaN(r.CpuMicrosPerMessage));
    var relay1 = Find("pairs", "MqttIm", r => r.Settings.StartsWith("QoS 1", StringComparison.Ordinal));
    if (chatMany is not null && relay1 is not null)
    {
        var ratio = chatMany.CpuMicrosPerMessage / relay1.CpuMicrosPerMessage;
        sb.AppendLine(Fmt.Inv($"- chat-many ÷ pairs QoS 1 (MqttIm, {o.ManyPairs} pairs × 1 in flight each): broker CPU per acked chat message ÷ per relayed QoS 1 message = {ratio:F2}× ({chatMany.CpuMicrosPerMessage:F1} vs {relay1.CpuMicrosPerMessage:F1} µs){Goal(ratio, 1.2)}; {chatMany.Throughput} acked vs {relay1.Throughput} relayed"));
    }

    // Several rounds: the two issue-8 CPU ratios per round (each round's rows paired with each other) and their median,
    // since one run's ratio moves with that run's relay cost.
    if (o.Rounds > 1)
    {
        RoundRatios("chat-many ÷ pairs QoS 1 (MqttIm)", 1.2,
            r => r.Scenario == "chat-many" && r.Broker == "MqttIm" && !double.IsNaN(r.CpuMicrosPerMessage),
            r => r.Scenario == "pairs" && r.Broker == "MqttIm" && r.Settings.StartsWith("QoS 1", StringComparison.Ordinal));
        RoundRatios("pairs QoS 1 MqttIm ÷ bare MQTTnet", 1.05,
            r => r.Scenario == "pairs" && r.Broker == "MqttIm" && r.Settings.StartsWith("QoS 1", StringComparison.Ordinal),
            r => r.Scenario == "pairs" && r.Broker == bare && r.Settings.StartsWith("QoS 1", StringComparison.Ordinal));
        foreach (var variant in new[] { "v311", "v5-sub" })
        {
            RoundRatios($"conns {(variant == "v311" ? "MQTT 3.1.1" : "MQTT 5 + inbox")} RSS per idle connection MqttIm ÷ bare MQTTnet", 1.10,
                r => r.Scenario == "conns" && r.Broker == "MqttIm" && r.Variant == variant,
                r => r.Scenario == "conns" && r.Broker == bare && r.Variant == variant,
                r => r.Value / 1024, "KiB");
        }
    }

    void RoundRatios(string label, double goal, Func<ResultRow, bool> numerator, Func<ResultRow, bool> denominator,
        Func<ResultRow, double>? measure = null, string unit = "µs")
    {
        measure ??= r => r.CpuMicrosPerMessage;
        var perRound = new List<(int Round, double Ratio, double Top, double Bottom)>();
        for (var k = 1; k <= o.Rounds; k++)
        {
            var top = rows.FirstOrDefault(r => r.Round == k && r.Value > 0 && measure(r) > 0 && numerator(r));
            var bottom = rows.FirstOrDefault(r => r.Round == k && r.Value > 0 && measure(r) > 0 && denominator(r));
            if (top is not null && bottom is not null)
            {
                perRound.Add((k, measure(top) / measure(bottom), measure(top), measure(bottom)));
            }
        }

        if (perRound.Count == 0)
        {
            return;
        }

        var sorted = perRound.Select(p => p.Ratio).Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        var each = string.Join(", ", perRound.Select(p => Fmt.Inv($"round {p.Round} {p.Ratio:F2}× ({p.Top:F1} vs {p.Bottom:F1} {unit})")));
        sb.AppendLine(Fmt.Inv($"- {label} over {perRound.Count} rounds: median {median:F2}×, range {sorted[0]:F2}–{sorted[^1]:F2}×{Goal(median, goal)} (median); {each}"));
    }

    // Room: one line per offered rate, MqttIm and Mosquitto paired by rate (same run, same viewers).
    foreach (var ri in rows.Where(r => r.Scenario == "room" && r.Broker == "MqttIm" && r.Secondary > 0))
    {
        var rm = rows.FirstOrDefault(r => r.Scenario == "room" && r.Broker == "Mosquitto" && r.Variant == ri.Variant && r.Secondary > 0);
        if (rm is null)
        {
            continue;
        }

        var cpuRatio = ri.Secondary / rm.Secondary;
        var offered = double.Parse(ri.Variant, System.Globalization.CultureInfo.InvariantCulture) * o.RoomViewers;
        sb.AppendLine(Fmt.Inv($"- room at {ri.Variant} msgs/s × {o.RoomViewers:N0} viewers: broker CPU per delivered room message MqttIm ÷ Mosquitto = {cpuRatio:F2}× ({ri.Secondary:F2} vs {rm.Secondary:F2} µs; delivered {ri.Throughput} vs {rm.Throughput} = {ri.Value / offered:P0} vs {rm.Value / offered:P0} of offered; p99 {ri.P99} vs {rm.P99}) — goal ≤ 0.25: {(cpuRatio <= 0.25 ? "met" : "NOT met")}"));
    }

    foreach (var offered in new[] { "offered", "flat out" })
    {
        var small = rows.FirstOrDefault(r => r.Scenario == "chat" && r.Settings.StartsWith(Fmt.Inv($"U={o.ChatSmallUsers:N0} "), StringComparison.Ordinal) && r.Settings.Contains(offered, StringComparison.Ordinal) && r.Value > 0);
        var large = rows.FirstOrDefault(r => r.Scenario == "chat" && r.Settings.StartsWith(Fmt.Inv($"U={o.ChatLargeUsers:N0} "), StringComparison.Ordinal) && r.Settings.Contains(offered, StringComparison.Ordinal) && r.Value > 0);
        if (small is not null && large is not null && !ReferenceEquals(small, large))
        {
            var ratio = large.Value / small.Value;
            sb.AppendLine(Fmt.Inv($"- chat {offered}: U={o.ChatLargeUsers:N0} ÷ U={o.ChatSmallUsers:N0} accepted throughput = {ratio:F2}× ({large.Throughput} vs {small.Throughput}; e2e p99 {large.P99} vs {small.P99}) — target ≥ 0.80: {(ratio >= 0.8 ? "met" : "NOT met")}"));
        }
    }

    return sb.ToString().TrimEnd();
}
