
namespace MqttIm.ImExtensions.Delivery;

/// <summary>Knows which devices of a user are online and gets inbox events to them.</summary>
/// <remarks>Implementations: <c>InProcessOnlineRouter</c> (embedded); cluster routers must pass the same contract tests.</remarks>
internal interface IOnlineRouter
{
    ValueTask RegisterAsync(OnlineDevice device, CancellationToken cancellationToken);

    /// <summary>Removes the device unless a newer connection of the same client id has replaced it.</summary>
    ValueTask UnregisterAsync(string clientId, string connectionKey, CancellationToken cancellationToken);

    /// <summary>Publishes on <c>inbox/{userId}</c> to each of the user's online devices but <paramref name="exceptClientId"/>; returns how many took it.</summary>
    ValueTask<int> RouteAsync(string userId, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken);

    /// <summary>Group fan-out: publishes to every online device of these users but <paramref name="exceptClientId"/>, batched per node in a cluster.</summary>
    ValueTask<int> RouteManyAsync(IReadOnlyList<string> userIds, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken);

    /// <summary>Publishes to one device of the user, if it is online.</summary>
    ValueTask<bool> RouteToDeviceAsync(string userId, string clientId, OutboundEvent outbound, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<OnlineDevice>> GetDevicesAsync(string userId, CancellationToken cancellationToken);
}
