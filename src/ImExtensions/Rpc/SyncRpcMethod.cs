using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/sync</c>: each of the caller's conversations with its max seq, and the messages after the caller's cursors, one page at a time.</summary>
internal sealed class SyncRpcMethod(IMessageStore messages, IConversationStore conversations, IOptions<ChatOptions> options) : IRpcMethod
{
    public string Name => "sync";

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(SyncRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var pageSize = options.Value.SyncPageSize;
        var remaining = request.Limit > 0 ? Math.Min(request.Limit, pageSize) : pageSize;
        var result = new SyncResponse();
        var only = request.ConversationIds.Count > 0 ? request.ConversationIds.ToHashSet(StringComparer.Ordinal) : null;
        foreach (var state in await conversations.GetAllAsync(call.Caller.UserId, cancellationToken).ConfigureAwait(false))
        {
            if (only is not null && !only.Contains(state.ConversationId))
            {
                continue;
            }

            // Nothing from before the caller joined (groups): the cursor starts just before the join.
            var cursor = Math.Max(request.Cursors.TryGetValue(state.ConversationId, out var c) ? c : 0, state.JoinedSeq - 1);
            var conversation = new ConversationSync { ConversationId = state.ConversationId, MaxSeq = state.MaxSeq };
            if (state.MaxSeq > cursor && remaining > 0)
            {
                var page = await messages.ReadAfterAsync(state.ConversationId, cursor, remaining, cancellationToken).ConfigureAwait(false);
                conversation.Messages.AddRange(page);
                remaining -= page.Count;
                cursor = page.Count > 0 ? page[^1].Seq : cursor;
            }

            conversation.HasMore = state.MaxSeq > cursor;
            result.HasMore |= conversation.HasMore;
            result.Conversations.Add(conversation);
        }

        response.Sync = result;
        return request.RequestId;
    }
}
