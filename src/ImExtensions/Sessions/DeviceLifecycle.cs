using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MQTTnet.Packets;
using MQTTnet.Server;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>Connect, disconnect and session end: keeps the device registry, the router and client-id ownership in step with MQTTnet.</summary>
internal sealed class DeviceLifecycle(
    ConnectedDeviceRegistry registry,
    IOnlineRouter router,
    ClientIdOwnership ownership,
    ILogger<DeviceLifecycle> logger)
{
    /// <summary>Devices whose persistent session holds an inbox subscription: MQTTnet never stored it, so it is restored on resume.</summary>
    private readonly ConcurrentDictionary<string, string> _persistentInboxes = new(StringComparer.Ordinal);

    public async Task OnConnectedAsync(ClientConnectedEventArgs args, MqttServer server)
    {
        var format = WireFormat.Json;
        foreach (var property in args.UserProperties ?? [])
        {
            if (property.Name == "format" && PayloadCodec.ParseFormatName(property.ReadValueAsString()) is { } chosen)
            {
                format = chosen;
            }
        }

        var device = new ConnectedDevice(args.UserName, args.ClientId, args.ProtocolVersion, format, ConnectionKeyOf(args.RemoteEndPoint));
        registry.Add(device);
        ImMetrics.ConnectedDevices.Set(registry.Count);
        ImLog.DeviceConnected(logger, device.ClientId, device.UserId, args.ProtocolVersion.ToString(), format.ToString());

        if (_persistentInboxes.ContainsKey(args.ClientId) && await server.GetSessionAsync(args.ClientId).ConfigureAwait(false) is { } session)
        {
            await RegisterInboxAsync(device, session).ConfigureAwait(false);
        }
    }

    public async Task OnDisconnectedAsync(ClientDisconnectedEventArgs args)
    {
        var key = ConnectionKeyOf(args.RemoteEndPoint);
        registry.Remove(args.ClientId, key);
        ImMetrics.ConnectedDevices.Set(registry.Count);
        await router.UnregisterAsync(args.ClientId, key, CancellationToken.None).ConfigureAwait(false);
    }

    public Task OnSessionDeletedAsync(SessionDeletedEventArgs args)
    {
        _persistentInboxes.TryRemove(args.Id, out _);
        ownership.Release(args.Id);
        return Task.CompletedTask;
    }

    /// <summary>Routes the user's inbox events to this device until it unsubscribes, disconnects, or its session ends.</summary>
    public async ValueTask RegisterInboxAsync(ConnectedDevice device, MqttSessionStatus session)
    {
        // Remembered until MQTTnet deletes the session (clean sessions are deleted at disconnect).
        _persistentInboxes[device.ClientId] = device.UserId;
        await router.RegisterAsync(new OnlineDevice(device.UserId, device.ClientId, device.Format, device.ConnectionKey, new MqttSessionChannel(session)), CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask UnregisterInboxAsync(ConnectedDevice device)
    {
        _persistentInboxes.TryRemove(device.ClientId, out _);
        await router.UnregisterAsync(device.ClientId, device.ConnectionKey, CancellationToken.None).ConfigureAwait(false);
    }

    private static string ConnectionKeyOf(System.Net.EndPoint? endPoint) => endPoint?.ToString() ?? "local";
}
