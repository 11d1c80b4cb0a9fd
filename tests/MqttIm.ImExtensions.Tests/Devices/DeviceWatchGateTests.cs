using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Storage.Offload;
using MqttIm.ImExtensions.Tests.Presence;

namespace MqttIm.ImExtensions.Tests.Devices;

/// <summary>The owner check of a device watch SUBSCRIBE runs on a store read thread, not the caller's, with the same answers.</summary>
public sealed class DeviceWatchGateTests : IDisposable
{
    private readonly StoreWorkPool _workers = new(Options.Create(new StoreWorkOptions { ReadWorkers = 1, WriteWorkers = 1 }));
    private readonly RecordingDeviceStore _devices = new(
        new DeviceRecord("sensor-1", "hash", false, ["alice", "group:g1"], 0, 0));

    [Fact]
    public async Task OwnerCheck_RunsOnAStoreReadThread_AndAnswersAsTheStoreSays()
    {
        var gate = new DeviceWatchGate(Access(), _workers);

        Assert.True(await gate.MayWatchAsync("alice", "sensor-1", CancellationToken.None)); // an owner
        Assert.True(await gate.MayWatchAsync("dave", "sensor-1", CancellationToken.None)); // through group g1
        Assert.False(await gate.MayWatchAsync("mallory", "sensor-1", CancellationToken.None));
        Assert.False(await gate.MayWatchAsync("alice", "no-such-device", CancellationToken.None));

        Assert.Equal(4, _devices.Threads.Count);
        Assert.All(_devices.Threads, name => Assert.StartsWith("mqttim-store-read-", name));
    }

    [Fact]
    public async Task WithoutAPool_TheCheckRunsInline()
    {
        var gate = new DeviceWatchGate(Access());

        Assert.True(await gate.MayWatchAsync("alice", "sensor-1", CancellationToken.None));
        Assert.DoesNotContain(_devices.Threads, name => name.StartsWith("mqttim-store-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACancelledSubscribe_IsNotChecked()
    {
        var gate = new DeviceWatchGate(Access(), _workers);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gate.MayWatchAsync("alice", "sensor-1", cancelled.Token));
        Assert.Empty(_devices.Threads);
    }

    public void Dispose() => _workers.Dispose();

    private DeviceAccess Access()
    {
        var groups = PresenceWatchPolicyTests.GroupStoreStub.WithGroup("g1", "carol", "dave");
        return new DeviceAccess(_devices, new GroupDirectory(groups), groups);
    }

    /// <summary>One device; records the name of each thread that read it.</summary>
    private sealed class RecordingDeviceStore(DeviceRecord device) : IDeviceStore
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Threads { get; } = new();

        public Task<DeviceRecord?> GetAsync(string deviceId, CancellationToken cancellationToken)
        {
            Threads.Enqueue(Thread.CurrentThread.Name ?? "(unnamed)");
            return Task.FromResult(deviceId == device.DeviceId ? device : null);
        }

        public Task<bool> CreateAsync(DeviceRecord device, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> UpdateAsync(DeviceRecord device, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> DeleteAsync(string deviceId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<DeviceRecord>> ListAsync(IReadOnlyCollection<string>? principals, string afterId, int limit, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
