namespace MqttIm.ImExtensions.Storage.Offload;

/// <summary>Which lane of <see cref="StoreWorkPool"/> a piece of store work queues in, so slow reads never hold up writes.</summary>
internal enum StoreWorkKind
{
    Read,
    Write,
}
