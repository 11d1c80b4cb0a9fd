using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>What a scenario gets: the options, the MqttIm broker dll, where rows go, and helpers that start brokers.</summary>
public sealed class BenchRun(BenchOptions options, string brokerDll, Action<ResultRow> emit, Func<BrokerKind, Task<BrokerUnderTest>> startBroker, bool mosquittoInstalled)
{
    public BenchOptions Options { get; } = options;

    public string BrokerDll { get; } = brokerDll;

    public void Emit(ResultRow row) => emit(row);

    /// <summary>Runs <paramref name="run"/> once per broker of <c>--brokers</c> (restricted to <paramref name="only"/> when given), each broker fresh.</summary>
    public async Task PerBrokerAsync(string scenario, string settings, Func<BrokerUnderTest, Task> run, params BrokerKind[] only)
    {
        foreach (var kind in Options.Brokers.Where(k => only.Length == 0 || only.Contains(k)))
        {
            if (kind == BrokerKind.Mosquitto && !mosquittoInstalled)
            {
                Emit(ResultRow.Skipped(scenario, BrokerUnderTest.NameOf(kind), settings, $"skipped: mosquitto not found at {Options.MosquittoPath} (install it: apt-get install -y mosquitto)"));
                continue;
            }

            Log.Info($"{scenario} on {BrokerUnderTest.NameOf(kind)}");
            BrokerUnderTest? broker = null;
            try
            {
                broker = await startBroker(kind).ConfigureAwait(false);
                await run(broker).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Emit(ResultRow.Skipped(scenario, BrokerUnderTest.NameOf(kind), settings, "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
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
                    await broker.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Runs an MqttIm-only scenario that starts its own broker(s); a failure becomes a FAILED row, not an aborted suite.</summary>
    public async Task GuardedAsync(string scenario, string broker, string settings, Func<Task> run)
    {
        Log.Info($"{scenario} on {broker}");
        try
        {
            await run().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Emit(ResultRow.Skipped(scenario, broker, settings, "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
            Log.Info(ex.ToString());
        }
    }
}

/// <summary>
/// Every scenario, in the order a full run executes them. Adding one is one line here: its name and what it runs.
/// </summary>
public static class Scenarios
{
    private static readonly MqttQualityOfServiceLevel[] BothQos = [MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce];

    public static readonly IReadOnlyList<(string Name, Func<BenchRun, Task> Run)> All =
    [
        ("relay", r => r.PerBrokerAsync("relay", "QoS 0 and 1", async b => { foreach (var q in BothQos) { r.Emit(await RelayScenario.RunAsync(b, r.Options, RelayShape.Batched(r.Options, q)).ConfigureAwait(false)); } })),
        ("pairs", r => r.PerBrokerAsync("pairs", "100 pairs × 1", async b => { foreach (var shape in RelayShape.ManyPairs(r.Options)) { r.Emit(await RelayScenario.RunAsync(b, r.Options, shape).ConfigureAwait(false)); } })),
        ("fanout", r => r.PerBrokerAsync("fanout", "QoS 0 and 1", async b => { foreach (var q in BothQos) { r.Emit(await FanoutScenario.RunAsync(b, q, r.Options).ConfigureAwait(false)); } })),
        ("conns", ConnsScenario.RunVariantsAsync),
        ("chat", r => ChatScenario.RunPopulationsAsync(r)),
        ("chat-many", r => r.GuardedAsync("chat-many", "MqttIm", "100 pairs × 1 device × 1", () => ChatScenario.RunAsync(r.BrokerDll, 2 * r.Options.ManyPairs, r.Options, r.Emit, ChatShape.ManyPairs(r.Options)))),
        ("group", r => r.GuardedAsync("group", "MqttIm", "groups", () => GroupScenario.RunAsync(r.BrokerDll, r.Options, r.Emit))),
        ("room", r => r.PerBrokerAsync("room", Fmt.Inv($"{r.Options.RoomViewers:N0} viewers"), b => RoomScenario.RunAsync(b, r.Options, r.Emit), BrokerKind.MqttIm, BrokerKind.Mosquitto)),
        ("iot", r => r.PerBrokerAsync("iot", Fmt.Inv($"{r.Options.IotDevices:N0} devices"), b => IotScenario.RunAsync(b, r.Options, r.Emit), BrokerKind.MqttIm, BrokerKind.Mosquitto)),
        ("pipeline", r => r.GuardedAsync("pipeline", "MqttIm", "1 connection, both ack modes", () => PipelineScenario.RunAsync(r.BrokerDll, r.Options, r.Emit))),
        ("push", r => r.GuardedAsync("push", "MqttIm", "fake APNs", () => PushScenario.RunAsync(r.BrokerDll, r.Options, r.Emit))),
        ("idle", IdleScenario.RunAsync),
        ("chat-cluster", r => r.GuardedAsync("chat-cluster", "MqttIm×3", "3 nodes", () => ClusterChatScenario.RunAsync(r.Options, r.Emit))),
    ];
}
