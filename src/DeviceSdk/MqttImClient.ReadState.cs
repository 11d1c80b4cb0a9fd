using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk;

/// <summary>Read positions, read counts and the conversation list with its per-user flags.</summary>
public sealed partial class MqttImClient
{
    /// <summary>Marks everything up to <paramref name="seq"/> as read (read positions never move back) and returns the conversation's and the user's total unread.</summary>
    public async Task<ReadResponse> MarkReadAsync(string conversationId, long seq, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        EnsureConnected();
        var request = new ReadRequest { RequestId = NewRequestId(), ConversationId = conversationId, Seq = seq };
        var response = await Rpc.CallAsync("read", request, request.RequestId, RpcResponse.ResultOneofCase.Read, cancellationToken).ConfigureAwait(false);
        return response.Read;
    }

    /// <summary>For a small group: how many members other than each message's sender have read each of these seqs (at most 200).</summary>
    public async Task<ReadCountsResponse> GetReadCountsAsync(string conversationId, IEnumerable<long> seqs, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        ArgumentNullException.ThrowIfNull(seqs);
        EnsureConnected();
        var request = new ReadCountsRequest { RequestId = NewRequestId(), ConversationId = conversationId };
        request.Seqs.AddRange(seqs);
        var response = await Rpc.CallAsync("read_counts", request, request.RequestId, RpcResponse.ResultOneofCase.ReadCounts, cancellationToken).ConfigureAwait(false);
        return response.ReadCounts;
    }

    /// <summary>
    /// One page of the user's conversations, pinned first and then by last activity, with unread counts and the total
    /// unread. Pass the previous page's <c>NextCursor</c> as <paramref name="cursor"/> for the next page (null: the first).
    /// </summary>
    public async Task<ConversationsResponse> GetConversationsAsync(string? cursor = null, int limit = 0, CancellationToken cancellationToken = default)
    {
        EnsureConnected();
        var request = new ConversationsRequest { RequestId = NewRequestId(), Cursor = cursor ?? "", Limit = limit };
        var response = await Rpc.CallAsync("conversations", request, request.RequestId, RpcResponse.ResultOneofCase.Conversations, cancellationToken).ConfigureAwait(false);
        return response.Conversations;
    }

    /// <summary>Pins and/or mutes (notifications of) a conversation for this user; null leaves a flag as it is.</summary>
    public async Task<ConversationInfo> SetConversationFlagsAsync(string conversationId, bool? pinned = null, bool? muted = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        EnsureConnected();
        var request = new ConversationSettingsRequest { RequestId = NewRequestId(), ConversationId = conversationId };
        if (pinned is { } pin)
        {
            request.Pinned = pin;
        }

        if (muted is { } mute)
        {
            request.Muted = mute;
        }

        var response = await Rpc.CallAsync("conversation/settings", request, request.RequestId, RpcResponse.ResultOneofCase.Conversation, cancellationToken).ConfigureAwait(false);
        return response.Conversation;
    }
}
