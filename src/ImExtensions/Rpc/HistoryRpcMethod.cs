using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/history</c>: a page of a conversation's messages before a seq (newest page first, each page in seq order).</summary>
internal sealed class HistoryRpcMethod(IMessageStore messages, IConversationStore conversations, IOptions<ChatOptions> options) : IRpcMethod
{
    public string Name => "history";

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(HistoryRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var state = await conversations.GetAsync(call.Caller.UserId, request.ConversationId, cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            response.Error = RpcErrors.NotAuthorized($"user {call.Caller.UserId} is not in conversation '{request.ConversationId}'");
            return request.RequestId;
        }

        var pageSize = options.Value.HistoryPageSize;
        var limit = request.Limit > 0 ? Math.Min(request.Limit, pageSize) : pageSize;
        var before = request.BeforeSeq > 0 ? request.BeforeSeq : long.MaxValue;
        var page = (await messages.ReadBeforeAsync(request.ConversationId, before, limit, cancellationToken).ConfigureAwait(false))
            .Where(m => m.Seq >= state.JoinedSeq).ToList();
        var history = new HistoryResponse
        {
            ConversationId = request.ConversationId,
            HasMore = page.Count > 0 && page[0].Seq > Math.Max(1, state.JoinedSeq),
        };
        history.Messages.AddRange(page);
        response.History = history;
        return request.RequestId;
    }
}
