namespace MqttIm.ImExtensions.Storage.Offload;

/// <summary>A store work lane is full: the request is refused at once instead of queueing without bound.</summary>
internal sealed class StoreBusyException(StoreWorkKind kind) : Exception($"the broker's store {kind.ToString().ToLowerInvariant()} queue is full")
{
    public StoreWorkKind Kind { get; } = kind;
}
