using System.Collections.Concurrent;
using MqttIm.ImExtensions.Delivery;

namespace MqttIm.ImExtensions.Devices;

/// <summary>The way into each connected device's session that subscribed to its commands (<c>device/{id}/cmd/#</c>).</summary>
internal sealed class CommandRoutes
{
    private readonly ConcurrentDictionary<string, CommandRoute> _routes = new(StringComparer.Ordinal);

    public void Set(CommandRoute route) => _routes[route.DeviceId] = route;

    public bool TryGet(string deviceId, out CommandRoute route) => _routes.TryGetValue(deviceId, out route!);

    /// <summary>Removes the route only if it is still that connection's (a takeover may have replaced it).</summary>
    public void Remove(string deviceId, string connectionKey)
    {
        if (_routes.TryGetValue(deviceId, out var route) && route.ConnectionKey == connectionKey)
        {
            _routes.TryRemove(new KeyValuePair<string, CommandRoute>(deviceId, route));
        }
    }
}

/// <summary>One device connection able to receive commands.</summary>
internal sealed record CommandRoute(string DeviceId, string ConnectionKey, bool IsMqtt5, IDeviceChannel Channel);
