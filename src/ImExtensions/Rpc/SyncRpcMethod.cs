using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/sync</c>: the caller's conversations (a page of them at a time) with their max seq, and the messages after the caller's cursors, one page at a time.</summary>
internal sealed class SyncRpcMethod(
    IMessageStore messages,
    IConversationStore conversations,
    IOptions<ChatOptions> options,
    IOptions<MqttIm.ImExtensions.Cluster.ClusterOptions> cluster,
    TimeProvider clock) : IRpcMethod
{
    private const int MaxConversationIds = 1000;
    private readonly SeqGapReport _gaps = new(cluster.Value.SeqGapGrace, clock);

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
        var (states, nextAfter) = await StatesAsync(call.Caller.UserId, request, cancellationToken).ConfigureAwait(false);
        result.NextAfterConversationId = nextAfter;
        foreach (var state in states)
        {
            // Nothing from before the caller joined (groups): the cursor starts just before the join.
            var cursor = Math.Max(request.Cursors.TryGetValue(state.ConversationId, out var c) ? c : 0, state.JoinedSeq - 1);
            var conversation = new ConversationSync { ConversationId = state.ConversationId, MaxSeq = state.MaxSeq, StartAfter = cursor };
            if (state.MaxSeq > cursor && remaining > 0)
            {
                var page = await messages.ReadAfterAsync(state.ConversationId, cursor, remaining, cancellationToken).ConfigureAwait(false);
                conversation.Messages.AddRange(page);
                _gaps.AddSkipped(cursor, page, conversation.SkippedSeqs);
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

    /// <summary>
    /// The asked conversations (a hint-driven pull of one large group reads one row), or one keyset page of all the
    /// caller's conversations with the id to continue after (empty on the last page): never all of them at once.
    /// </summary>
    private async Task<(IReadOnlyList<ConversationState> States, string NextAfter)> StatesAsync(string userId, SyncRequest request, CancellationToken cancellationToken)
    {
        if (request.ConversationIds.Count == 0)
        {
            var perPage = options.Value.SyncConversationsPerPage;
            var page = await conversations.GetPageAsync(userId, request.AfterConversationId, perPage + 1, cancellationToken).ConfigureAwait(false);
            return page.Count <= perPage ? (page, "") : (page.Take(perPage).ToList(), page[perPage - 1].ConversationId);
        }

        var states = new List<ConversationState>();
        foreach (var conversationId in request.ConversationIds.Distinct(StringComparer.Ordinal).Take(MaxConversationIds))
        {
            if (await conversations.GetAsync(userId, conversationId, cancellationToken).ConfigureAwait(false) is { } state)
            {
                states.Add(state);
            }
        }

        return (states, "");
    }
}
