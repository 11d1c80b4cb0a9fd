using BenchmarkDotNet.Attributes;
using MQTTnet.Server;
using MqttIm.ImExtensions.Tests.Messaging;

namespace MqttIm.Microbench;

/// <summary>
/// One MQTT 5 <c>im/c2c</c> send through the embedded pipeline: decode and checks, group commit to the message log, fan-out to the
/// peer's online device. <see cref="MemoryDiagnoserAttribute"/> reports bytes allocated per operation (= per message).
/// </summary>
[MemoryDiagnoser]
public class PublishPipelineBenchmarks
{
    private const int PerInvocation = 256;
    private PublishPipelineHarness _pipeline = null!;
    private InterceptingPublishEventArgs[] _publishes = [];

    [GlobalSetup]
    public void Setup() => _pipeline = PublishPipelineHarness.StartAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => _pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();

    // MQTTnet decodes the packet into these before the hook runs: its cost, not MqttIm's.
    [IterationSetup]
    public void NextPublishes() => _publishes = _pipeline.NextPublishes(PerInvocation);

    [Benchmark(OperationsPerInvoke = PerInvocation)]
    public async Task C2cSend()
    {
        var target = _pipeline.Delivered + _publishes.Length;
        foreach (var publish in _publishes)
        {
            await _pipeline.SendAsync(publish);
        }

        await _pipeline.WaitForDeliveriesAsync(target, TimeSpan.FromSeconds(60));
    }
}
