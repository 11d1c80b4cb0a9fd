using MqttIm.Testing;

namespace MqttIm.Bench;

/// <summary>
/// idle: CPU of brokers with no clients at all, per process, over the measured window — a single node on SQLite, a
/// single node on PostgreSQL, a 3-node cluster (Redis + PostgreSQL, the cluster tests' fast heartbeat of 500 ms), and
/// the same cluster with the production heartbeat (1 s) and a slower IoT command sweep (5 s) to show what the idle
/// cost of a cluster node is made of.
/// </summary>
public static class IdleScenario
{
    public static async Task RunAsync(BenchRun run)
    {
        var o = run.Options;
        await run.GuardedAsync("idle", "MqttIm", "single node, SQLite", async () =>
        {
            await using var broker = await MqttImBroker.StartAsync(run.BrokerDll).ConfigureAwait(false);
            run.Emit(await MeasureAsync("single node, embedded store", [broker.Pid], o).ConfigureAwait(false));
        }).ConfigureAwait(false);

        await run.GuardedAsync("idle", "MqttIm", "single node, PostgreSQL", async () =>
        {
            var postgres = new PostgresServer();
            await postgres.InitializeAsync().ConfigureAwait(false);
            try
            {
                var connectionString = await postgres.CreateDatabaseAsync().ConfigureAwait(false);
                await using var broker = await MqttImBroker.StartAsync(run.BrokerDll, "--Storage:Provider=PostgreSQL", $"--Storage:PostgreSQL:ConnectionString={connectionString}").ConfigureAwait(false);
                run.Emit(await MeasureAsync("single node, PostgreSQL store", [broker.Pid], o).ConfigureAwait(false));
            }
            finally
            {
                await postgres.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);

        foreach (var (label, extra) in new (string, string[])[]
        {
            ("3-node cluster (Redis + PostgreSQL), heartbeat 500 ms (as the cluster tests)", []),
            ("3-node cluster, heartbeat 1 s (default), IoT command sweep 5 s (default 500 ms)", ["--Cluster:HeartbeatInterval=00:00:01", "--Iot:CommandSweepInterval=00:00:05"]),
        })
        {
            await run.GuardedAsync("idle", "MqttIm×3", label, async () =>
            {
                var cluster = new ArgsCluster(extra);
                try
                {
                    // Inside the try: a cluster that fails to start still has its Redis, PostgreSQL and nodes stopped.
                    await cluster.InitializeAsync().ConfigureAwait(false);
                    run.Emit(await MeasureAsync(label, [.. cluster.Nodes.Select(n => n.ProcessId)], o).ConfigureAwait(false));
                }
                finally
                {
                    await cluster.DisposeAsync().ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }
    }

    private static async Task<ResultRow> MeasureAsync(string label, int[] pids, BenchOptions o)
    {
        // Let start-up work (JIT, schema checks, first heartbeats) pass before measuring.
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(3, o.WarmupSeconds))).ConfigureAwait(false);
        var seconds = Math.Max(10, o.MeasureSeconds);
        var start = pids.Select(ProcInfo.CpuSeconds).ToArray();
        var machine = ProcInfo.MachineBusySeconds();
        var self = ProcInfo.CpuSeconds(0);
        await Task.Delay(TimeSpan.FromSeconds(seconds)).ConfigureAwait(false);
        var used = pids.Select((p, i) => ProcInfo.CpuSeconds(p) - start[i]).ToArray();
        var selfUsed = ProcInfo.CpuSeconds(0) - self;
        var other = Math.Max(0, ProcInfo.MachineBusySeconds() - machine - used.Sum() - selfUsed);
        var perNode = used.Average() / seconds * 100;
        return new ResultRow("idle", pids.Length == 1 ? "MqttIm" : "MqttIm×3", label, "–", "–", "–", "–",
            Fmt.Inv($"idle CPU {perNode:F2} % of a core per broker process ({string.Join(", ", used.Select(u => Fmt.Inv($"{u / seconds * 100:F2} %")))}); no clients"),
            used.Sum(), selfUsed, seconds, pids.Sum(ProcInfo.ResidentBytes))
        { Value = perNode, OtherCpuSeconds = other, Variant = pids.Length == 1 ? label : "cluster" };
    }

    /// <summary>The cluster fixture with extra arguments for every node (later arguments override the fixture's).</summary>
    private sealed class ArgsCluster(string[] extra) : BrokerCluster
    {
        protected override async Task<string[]> StoreArgsAsync() => [.. await base.StoreArgsAsync().ConfigureAwait(false), .. extra];
    }
}
