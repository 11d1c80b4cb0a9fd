using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Rooms.Store;
using MqttIm.ImExtensions.Rpc;

namespace MqttIm.ImExtensions.Rooms;

/// <summary><c>im/rpc/room/replay</c>: the gifts and system messages of a room after a room seq, for a viewer that reconnects.</summary>
internal sealed class RoomReplayRpcMethod(RoomCatalog catalog, RoomAccess access, IRoomStore store, IRoomBus bus, IOptions<RoomOptions> options) : IRpcMethod
{
    public string Name => "room/replay";

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        if (call.Decode(RoomReplayRequest.Parser, response) is not { } request)
        {
            return "";
        }

        var room = await catalog.GetAsync(request.RoomId, cancellationToken).ConfigureAwait(false);
        // A closed room can still be replayed by those who could view it while it was open.
        var viewable = room is { Closed: true } ? new RoomInfo(room) { Closed = false } : room;
        var denial = access.CheckView(call.Caller.ClientId, call.Caller.UserId, request.RoomId, viewable);
        if (denial is not null)
        {
            response.Error = RpcErrors.NotAuthorized(denial);
            return request.RequestId;
        }

        var pageSize = options.Value.ReplayPageSize;
        var limit = request.Limit is > 0 ? Math.Min(request.Limit, pageSize) : pageSize;
        var messages = await store.ReadReplayAsync(request.RoomId, request.AfterSeq, limit + 1, cancellationToken).ConfigureAwait(false);
        var replay = new RoomReplayResponse
        {
            RoomId = request.RoomId,
            HasMore = messages.Count > limit,
            LastSeq = await bus.CurrentSeqAsync(request.RoomId, cancellationToken).ConfigureAwait(false),
        };
        replay.Messages.AddRange(messages.Take(limit));
        response.RoomReplay = replay;
        return request.RequestId;
    }
}
