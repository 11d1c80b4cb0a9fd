using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// SUBSCRIBE/UNSUBSCRIBE of <c>room/{roomId}</c> and disconnects: joining is granted without MQTTnet storing the
/// subscription (as for inboxes); the viewer goes into <see cref="RoomDirectory"/>, which room delivery uses instead.
/// </summary>
internal sealed class RoomJoinHandler(RoomCatalog catalog, RoomAccess access, RoomDirectory directory, MqttIm.ImExtensions.Delivery.RawPacketOutlets outlets)
{
    /// <summary>Joins the room; returns null when granted, else why not (the caller answers NotAuthorized / 0x80).</summary>
    public async Task<string?> JoinAsync(InterceptingSubscriptionEventArgs args, ConnectedDevice device, string roomId)
    {
        var room = await catalog.GetAsync(roomId, args.CancellationToken).ConfigureAwait(false);
        var denial = access.CheckView(args.ClientId, device.UserId, roomId, room);
        if (denial is not null)
        {
            return denial;
        }

        var qos = args.TopicFilter.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce
            ? MqttQualityOfServiceLevel.AtMostOnce
            : MqttQualityOfServiceLevel.AtLeastOnce;
        args.ProcessSubscription = false;
        args.Response.ReasonCode = qos == MqttQualityOfServiceLevel.AtMostOnce ? MqttSubscribeReasonCode.GrantedQoS0 : MqttSubscribeReasonCode.GrantedQoS1;
        directory.Join(roomId, new RoomViewer(args.ClientId, device.UserId, device.ConnectionKey, device.Format, qos, args.Session,
            outlets.Find(device.ConnectionKey), device.IsMqtt5));
        return null;
    }

    public void Leave(InterceptingUnsubscriptionEventArgs args, string roomId)
    {
        directory.Leave(roomId, args.ClientId, connectionKey: null);
        args.ProcessUnsubscription = false;
        args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
    }

    public Task OnDisconnectedAsync(ClientDisconnectedEventArgs args)
    {
        directory.LeaveAll(args.ClientId, args.RemoteEndPoint?.ToString() ?? "local");
        return Task.CompletedTask;
    }
}
