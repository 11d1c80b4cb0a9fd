namespace MqttIm.PushBridge.Delivery;

/// <summary>What the push bridge tells the other nodes of a cluster: a user's device came online here.</summary>
internal interface IPushClusterBus
{
    Task DeviceOnlineAsync(string userId);
}

/// <summary>Single node: every job is this node's, nothing to tell.</summary>
internal sealed class NoPushClusterBus : IPushClusterBus
{
    public Task DeviceOnlineAsync(string userId) => Task.CompletedTask;
}
