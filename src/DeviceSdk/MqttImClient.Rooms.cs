using System.Collections.Concurrent;
using System.Globalization;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.DeviceSdk.Wire;

namespace MqttIm.DeviceSdk;

/// <summary>Live rooms behind <see cref="MqttImRooms"/>: subscriptions, frames, sends and replay.</summary>
public sealed partial class MqttImClient
{
    private readonly ConcurrentDictionary<string, MqttImRoom> _rooms = new(StringComparer.Ordinal);
    private MqttImRooms? _roomsApi;

    /// <summary>Live rooms: join, read frames as messages, send, replay gifts since a room seq.</summary>
    public MqttImRooms Rooms => _roomsApi ??= new MqttImRooms(this);

    internal async Task<MqttImRoom> JoinRoomAsync(string roomId, long afterSeq, CancellationToken cancellationToken)
    {
        EnsureConnected();
        var room = new MqttImRoom(this, roomId, afterSeq);
        if (!_rooms.TryAdd(roomId, room))
        {
            throw new InvalidOperationException($"room {roomId} is joined already");
        }

        try
        {
            await SubscribeRoomAsync(roomId, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _rooms.TryRemove(roomId, out _);
            throw;
        }

        await room.CatchUpAsync().ConfigureAwait(false);
        return room;
    }

    internal async Task LeaveRoomAsync(MqttImRoom room, CancellationToken cancellationToken)
    {
        if (_rooms.TryRemove(new KeyValuePair<string, MqttImRoom>(room.RoomId, room)) && _mqtt.IsConnected)
        {
            await _mqtt.UnsubscribeAsync(Topics.Room(room.RoomId), cancellationToken).ConfigureAwait(false);
        }

        room.Complete();
    }

    internal async Task<long> SendToRoomAsync(string roomId, RoomSend send, CancellationToken cancellationToken)
    {
        EnsureConnected();
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(Topics.Room(roomId))
            .WithPayload(WireCodec.Encode(send))
            .WithContentType(WireCodec.ProtobufContentType)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        var result = await _mqtt.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!SendRefusals.IsAccepted(result.ReasonCode))
        {
            var code = result.UserProperties?.FirstOrDefault(p => p.Name == "code")?.ReadValueAsString() ?? SendRefusals.CodeOf(result.ReasonCode);
            throw new MqttImSendException(result.ReasonCode, code, result.ReasonString, send.ClientMsgId);
        }

        var seq = result.UserProperties?.FirstOrDefault(p => p.Name == "seq")?.ReadValueAsString();
        return seq is not null && long.TryParse(seq, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    internal async Task<IReadOnlyList<RoomMessage>> ReplayRoomAsync(string roomId, long afterSeq, CancellationToken cancellationToken)
    {
        EnsureConnected();
        var all = new List<RoomMessage>();
        for (var page = 0; page < 10_000; page++)
        {
            var request = new RoomReplayRequest { RequestId = NewRequestId(), RoomId = roomId, AfterSeq = afterSeq };
            var response = await Rpc.CallAsync("room/replay", request, request.RequestId, RpcResponse.ResultOneofCase.RoomReplay, cancellationToken).ConfigureAwait(false);
            all.AddRange(response.RoomReplay.Messages);
            if (!response.RoomReplay.HasMore || response.RoomReplay.Messages.Count == 0)
            {
                return all;
            }

            afterSeq = response.RoomReplay.Messages[^1].Seq;
        }

        return all;
    }

    internal void ReportRoomError(Exception exception) => ReportBackgroundError(exception);

    /// <summary>A reconnect: every joined room is joined again and replays what it missed.</summary>
    private async Task RejoinRoomsAsync(CancellationToken cancellationToken)
    {
        foreach (var room in _rooms.Values)
        {
            await SubscribeRoomAsync(room.RoomId, cancellationToken).ConfigureAwait(false);
            _ = room.CatchUpAsync();
        }
    }

    private bool TryRouteRoomFrame(MqttApplicationMessage message)
    {
        if (!message.Topic.StartsWith(Topics.RoomPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (_rooms.TryGetValue(message.Topic[Topics.RoomPrefix.Length..], out var room))
        {
            room.OnFrame(WireCodec.Decode(RoomFrame.Parser, message.Payload, message.ContentType));
        }

        return true;
    }

    private async Task SubscribeRoomAsync(string roomId, CancellationToken cancellationToken)
    {
        var result = await _mqtt.SubscribeAsync(Topics.Room(roomId), MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken).ConfigureAwait(false);
        var item = result.Items.Single();
        if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
        {
            throw new MqttImRpcException("room/join", item.ResultCode == MqttClientSubscribeResultCode.NotAuthorized ? "not_authorized" : "refused",
                $"joining room {roomId} was refused: {item.ResultCode} {result.ReasonString}");
        }
    }
}
