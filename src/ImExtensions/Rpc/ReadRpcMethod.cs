using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Rpc;

/// <summary>
/// <c>im/rpc/read</c>: moves the caller's read position (never backwards) and answers with the conversation's and the
/// user's total unread. The peer of a 1:1 conversation gets a read receipt; the reader's other devices always do.
/// </summary>
internal sealed class ReadRpcMethod(IConversationStore conversations, IOnlineRouter router) : IRpcMethod
{
    public string Name => "read";

    public StoreWorkKind KindOf(string method) => StoreWorkKind.Write;

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(ReadRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var reader = call.Caller.UserId;
        var readSeq = await conversations.MarkReadAsync(reader, request.ConversationId, request.Seq, cancellationToken).ConfigureAwait(false);
        if (readSeq is null)
        {
            response.Error = RpcErrors.NotAuthorized($"user {reader} is not in conversation '{request.ConversationId}'");
            return request.RequestId;
        }

        // One read for both numbers, so the conversation's unread and the total always agree.
        var unread = await conversations.GetUnreadAsync(reader, request.ConversationId, cancellationToken).ConfigureAwait(false);
        response.Read = new ReadResponse
        {
            ConversationId = request.ConversationId,
            ReadSeq = unread.Conversation?.ReadSeq ?? readSeq.Value,
            Unread = unread.Conversation?.Unread ?? 0,
            TotalUnread = unread.TotalUnread,
        };

        var receipt = new OutboundEvent(new InboxEvent
        {
            ReadReceipt = new ReadReceipt { ConversationId = request.ConversationId, ReaderId = reader, ReadSeq = response.Read.ReadSeq },
        });
        if (ConversationIds.PeerOf(request.ConversationId, reader) is { } peer && peer != reader)
        {
            await router.RouteAsync(peer, receipt, exceptClientId: null, cancellationToken).ConfigureAwait(false);
        }

        await router.RouteAsync(reader, receipt, exceptClientId: call.Caller.ClientId, cancellationToken).ConfigureAwait(false);
        return request.RequestId;
    }
}
