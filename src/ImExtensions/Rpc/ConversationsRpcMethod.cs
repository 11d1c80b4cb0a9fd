using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary>
/// <c>im/rpc/conversations</c>: the caller's conversation list (pinned first, then latest activity), paged by cursor, with
/// unread counts and the total unread (kept per user by the store: one row, not a load of every conversation).
/// </summary>
internal sealed class ConversationsRpcMethod(IConversationStore conversations) : IRpcMethod
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;
    private const int MaxOffset = 10_000;

    public string Name => "conversations";

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(ConversationsRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var limit = request.Limit > 0 ? Math.Min(request.Limit, MaxPageSize) : DefaultPageSize;
        ConversationListCursor? after = null;
        if (request.Cursor.Length > 0)
        {
            if (!ConversationListCursor.TryParse(request.Cursor, out after))
            {
                response.Error = RpcErrors.InvalidRequest("cursor is not a next_cursor this broker handed out");
                return request.RequestId;
            }
        }
        else if (request.Offset > MaxOffset)
        {
            response.Error = RpcErrors.InvalidRequest($"offset is honoured up to {MaxOffset}; page with cursor/next_cursor");
            return request.RequestId;
        }
        else if (request.Offset > 0)
        {
            after = await SkipAsync(call.Caller.UserId, request.Offset, cancellationToken).ConfigureAwait(false);
            if (after is null)
            {
                response.Conversations = await EmptyPageAsync(call.Caller.UserId, cancellationToken).ConfigureAwait(false);
                return request.RequestId;
            }
        }

        var page = await conversations.ListAsync(call.Caller.UserId, after, limit, cancellationToken).ConfigureAwait(false);
        var unread = await conversations.GetUnreadAsync(call.Caller.UserId, conversationId: null, cancellationToken).ConfigureAwait(false);
        var result = new ConversationsResponse { HasMore = page.Next is not null, NextCursor = page.Next?.Encode() ?? "", TotalUnread = unread.TotalUnread };
        foreach (var state in page.Conversations)
        {
            result.Conversations.Add(ToInfo(state));
        }

        response.Conversations = result;
        return request.RequestId;
    }

    /// <summary>Old clients page by offset: walk the cursor pages up to it (bounded); null when the list ends first.</summary>
    private async Task<ConversationListCursor?> SkipAsync(string userId, int offset, CancellationToken cancellationToken)
    {
        ConversationListCursor? after = null;
        for (var skipped = 0; skipped < offset;)
        {
            var page = await conversations.ListAsync(userId, after, Math.Min(MaxPageSize, offset - skipped), cancellationToken).ConfigureAwait(false);
            skipped += page.Conversations.Count;
            if (page.Next is null)
            {
                return null;
            }

            after = page.Next;
        }

        return after;
    }

    private async Task<ConversationsResponse> EmptyPageAsync(string userId, CancellationToken cancellationToken) => new()
    {
        TotalUnread = (await conversations.GetUnreadAsync(userId, conversationId: null, cancellationToken).ConfigureAwait(false)).TotalUnread,
    };

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
