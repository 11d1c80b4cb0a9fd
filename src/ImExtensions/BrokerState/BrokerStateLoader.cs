using MqttIm.ImExtensions.BrokerState.Store;

namespace MqttIm.ImExtensions.BrokerState;

/// <summary>Reads the persisted broker state once per process (at MQTTnet's start, when it asks for retained messages).</summary>
internal sealed class BrokerStateLoader(IBrokerStateStore store)
{
    private readonly Lazy<Task<BrokerStateSnapshot>> _snapshot = new(() => store.LoadAsync(CancellationToken.None));

    public Task<BrokerStateSnapshot> LoadAsync() => _snapshot.Value;
}
