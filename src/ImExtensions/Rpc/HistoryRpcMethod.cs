using System.Buffers;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/history</c>: a page of a conversation's messages before a seq (newest page first, each page in seq order).</summary>
internal sealed class HistoryRpcMethod(IMessageStore store, IOptions<ChatOptions> options) : IRpcMethod
{
    public string Name => "history";

    public async Task<string> InvokeAsync(ConnectedDevice caller, ReadOnlySequence<byte> payload, WireFormat format, RpcResponse response, CancellationToken cancellationToken)
    {
        if (!PayloadCodec.TryDecode(HistoryRequest.Parser, payload, format, out var request, out var error))
        {
            response.Error = RpcErrors.InvalidRequest(error!);
            return "";
        }

        if (!ConversationIds.IsParticipant(request!.ConversationId, caller.UserId))
        {
            response.Error = RpcErrors.NotAuthorized($"user {caller.UserId} is not in conversation '{request.ConversationId}'");
            return request.RequestId;
        }

        var pageSize = options.Value.HistoryPageSize;
        var limit = request.Limit > 0 ? Math.Min(request.Limit, pageSize) : pageSize;
        var before = request.BeforeSeq > 0 ? request.BeforeSeq : long.MaxValue;
        var messages = await store.ReadBeforeAsync(request.ConversationId, before, limit, cancellationToken).ConfigureAwait(false);
        var history = new HistoryResponse { ConversationId = request.ConversationId, HasMore = messages.Count > 0 && messages[0].Seq > 1 };
        history.Messages.AddRange(messages);
        response.History = history;
        return request.RequestId;
    }
}
