using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// SUBSCRIBE/UNSUBSCRIBE of <c>room/{roomId}</c> and disconnects: joining is granted without MQTTnet storing the
/// subscription (as for inboxes); the viewer goes into <see cref="RoomDirectory"/>, which room delivery uses instead.
/// </summary>
internal sealed class RoomJoinHandler(RoomCatalog catalog, RoomAccess access, RoomDirectory directory, RawPacketOutlets outlets)
{
    /// <summary>
    /// Joins the room at QoS 0 or 1 (<paramref name="atMostOnce"/>); returns null when granted, else why not (the caller
    /// answers NotAuthorized / 0x80).
    /// </summary>
    public async Task<string?> JoinAsync(ConnectedDevice device, string roomId, bool atMostOnce, ISessionQueue session, CancellationToken cancellationToken)
    {
        var room = await catalog.GetAsync(roomId, cancellationToken).ConfigureAwait(false);
        var denial = access.CheckView(device.ClientId, device.UserId, roomId, room);
        if (denial is not null)
        {
            return denial;
        }

        directory.Join(roomId, new RoomViewer(device.ClientId, device.UserId, device.ConnectionKey, device.Format, atMostOnce, session,
            outlets.Find(device.ConnectionKey), device.IsMqtt5));
        return null;
    }

    public void Leave(string clientId, string roomId) => directory.Leave(roomId, clientId, connectionKey: null);

    /// <summary>The connection is gone: it leaves every room it viewed (only that connection's viewers, not a newer one's).</summary>
    public void Disconnected(string clientId, string connectionKey) => directory.LeaveAll(clientId, connectionKey);
}
