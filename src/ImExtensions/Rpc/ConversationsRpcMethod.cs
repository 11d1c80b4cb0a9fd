using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/conversations</c>: the caller's conversation list (pinned first, then latest activity), paged, with unread counts.</summary>
internal sealed class ConversationsRpcMethod(IConversationStore conversations) : IRpcMethod
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    public string Name => "conversations";

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(ConversationsRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var limit = request.Limit > 0 ? Math.Min(request.Limit, MaxPageSize) : DefaultPageSize;
        var page = await conversations.ListAsync(call.Caller.UserId, Math.Max(0, request.Offset), limit + 1, cancellationToken).ConfigureAwait(false);
        var all = await conversations.GetAllAsync(call.Caller.UserId, cancellationToken).ConfigureAwait(false);
        var result = new ConversationsResponse { HasMore = page.Count > limit, TotalUnread = all.Sum(s => s.Unread) };
        foreach (var state in page.Take(limit))
        {
            result.Conversations.Add(ToInfo(state));
        }

        response.Conversations = result;
        return request.RequestId;
    }

    internal static ConversationInfo ToInfo(ConversationState state)
    {
        var info = new ConversationInfo
        {
            ConversationId = state.ConversationId,
            MaxSeq = state.MaxSeq,
            ReadSeq = state.ReadSeq,
            Unread = state.Unread,
            Pinned = state.Pinned,
            Muted = state.Muted,
            LastActivityMs = state.LastActivityMs,
        };
        if (state.LastMessage is not null)
        {
            info.LastMessage = state.LastMessage;
        }

        return info;
    }
}
