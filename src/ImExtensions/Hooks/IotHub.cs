using MQTTnet.Server;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>The device hub's part of the MQTTnet events (called by MqttServerHooks after the IM handlers).</summary>
internal sealed class IotHub(
    IotConnections connections,
    ConnectedDeviceRegistry registry,
    DevicePresence presence,
    DeviceSubscriptions subscriptions,
    CommandRoutes routes,
    CommandOutcomes outcomes,
    DeviceConnectRecheck recheck,
    DeviceKicker kicker,
    CommandDispatcher dispatcher,
    MqttServer server)
{
    private const string DevicePrefix = "device/";

    public async Task OnConnectedAsync(ClientConnectedEventArgs args)
    {
        if (!connections.IsDevice(args.ClientId) || registry.Find(args.ClientId) is not { } device)
        {
            return;
        }

        if (await recheck.RevokedSinceConnectAsync(args.ClientId, CancellationToken.None).ConfigureAwait(false) is { } reason)
        {
            await kicker.KickConnectionAsync(device, reason).ConfigureAwait(false); // revoked while it was connecting
            return;
        }

        presence.SetOnline(device.UserId, true);
        if (subscriptions.HadCommandSubscription(device.ClientId) && await server.GetSessionAsync(device.ClientId).ConfigureAwait(false) is { } session)
        {
            subscriptions.Restore(device, new MqttSessionChannel(session));
        }
    }

    public Task OnDisconnectedAsync(ClientDisconnectedEventArgs args)
    {
        if (connections.IsDevice(args.ClientId))
        {
            routes.Remove(args.UserName ?? args.ClientId, args.RemoteEndPoint?.ToString() ?? "local");
            if (args.DisconnectType != MqttClientDisconnectType.Takeover)
            {
                presence.SetOnline(args.UserName ?? args.ClientId, false);
            }
        }

        return Task.CompletedTask;
    }

    public Task OnSessionDeletedAsync(SessionDeletedEventArgs args)
    {
        subscriptions.ForgetSession(args.Id);
        return Task.CompletedTask;
    }

    /// <summary>The PUBACK of a command downlink is what makes it delivered.</summary>
    public async Task OnAcknowledgedAsync(ClientAcknowledgedPublishPacketEventArgs args)
    {
        var topic = args.PublishPacket.Topic;
        if (!topic.StartsWith(DevicePrefix, StringComparison.Ordinal) || !connections.IsDevice(args.ClientId))
        {
            return;
        }

        var parsed = ParsedTopic.Parse(topic);
        if (parsed.Target == args.UserName && DeviceTopics.CommandIdOfDownlink(parsed.Rest) is { } commandId)
        {
            await outcomes.MoveAsync(commandId, [Devices.Storage.CommandState.Sent], Devices.Storage.CommandState.Delivered, "PUBACK", null, CancellationToken.None).ConfigureAwait(false);
            dispatcher.Acknowledged(parsed.Target, commandId);
        }
    }
}
