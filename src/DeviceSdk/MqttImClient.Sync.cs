using MqttIm.Contracts.V1;
using MqttIm.DeviceSdk.Sync;

namespace MqttIm.DeviceSdk;

/// <summary>Sync and history: explicit calls, catching up on connect, filling gaps and pulling large groups on hints.</summary>
public sealed partial class MqttImClient
{
    /// <summary>Fetches every message after the given cursors (missing conversations from seq 1, or from the join of a group), paging until the broker has no more.</summary>
    public async Task<IReadOnlyList<ConversationSync>> SyncAsync(
        IReadOnlyDictionary<string, long>? cursors = null, int pageLimit = 0, CancellationToken cancellationToken = default)
    {
        EnsureConnected();
        var merged = new Dictionary<string, ConversationSync>(StringComparer.Ordinal);
        var order = new List<ConversationSync>();
        await SyncPager.RunAsync(
            cursors ?? new Dictionary<string, long>(),
            (pageCursors, after, ct) => SyncPageAsync(pageCursors, after, only: null, pageLimit, ct),
            (_, page) =>
            {
                foreach (var conversation in page.Conversations)
                {
                    if (!merged.TryGetValue(conversation.ConversationId, out var total))
                    {
                        merged[conversation.ConversationId] = total = new ConversationSync { ConversationId = conversation.ConversationId };
                        order.Add(total);
                    }

                    total.MaxSeq = Math.Max(total.MaxSeq, conversation.MaxSeq);
                    total.Messages.AddRange(conversation.Messages);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return order;
    }

    /// <summary>Reads one page of a conversation's messages before a seq (0 = from the newest), returned in seq order.</summary>
    public async Task<HistoryResponse> HistoryAsync(string conversationId, long beforeSeq = 0, int limit = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        EnsureConnected();
        var request = new HistoryRequest { RequestId = NewRequestId(), ConversationId = conversationId, BeforeSeq = beforeSeq, Limit = limit };
        var response = await Rpc.CallAsync("history", request, request.RequestId, RpcResponse.ResultOneofCase.History, cancellationToken).ConfigureAwait(false);
        return response.History;
    }

    /// <summary>Syncs every conversation from the buffer's cursors and feeds everything through it, so missing seqs are filled and duplicates dropped.</summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping);
        await _syncGate.WaitAsync(linked.Token).ConfigureAwait(false);
        try
        {
            await SyncPager.RunAsync(
                Buffer.Cursors(),
                (cursors, after, ct) => SyncPageAsync(cursors, after, only: null, Options.SyncPageLimit, ct),
                (cursors, page) => FeedBuffer(cursors, page, only: null),
                linked.Token).ConfigureAwait(false);
        }
        finally
        {
            _syncGate.Release();
        }
    }

    /// <summary>Syncs one conversation from the buffer's cursor (none: from the broker's start for this user) into the buffer.</summary>
    private async Task PullConversationAsync(string conversationId, CancellationToken cancellationToken)
    {
        EnsureConnected();
        var start = new Dictionary<string, long>(StringComparer.Ordinal);
        if (Buffer.Cursor(conversationId) is { } cursor)
        {
            start[conversationId] = cursor;
        }

        await SyncPager.RunAsync(
            start,
            (cursors, after, ct) => SyncPageAsync(cursors, after, conversationId, Options.SyncPageLimit, ct),
            (cursors, page) => FeedBuffer(cursors, page, conversationId),
            cancellationToken).ConfigureAwait(false);
    }

    private void FeedBuffer(IReadOnlyDictionary<string, long> requestedCursors, SyncResponse page, string? only)
    {
        var listed = false;
        foreach (var conversation in page.Conversations)
        {
            listed |= conversation.ConversationId == only;
            Buffer.OfferSynced(conversation, requestedCursors.GetValueOrDefault(conversation.ConversationId));
        }

        if (only is not null && !listed)
        {
            Buffer.ReleaseHeld(only);
        }
    }

    private Task FillGapAsync(string conversationId, CancellationToken cancellationToken) => PullConversationAsync(conversationId, cancellationToken);

    /// <summary>A large group moved on: pull it unless this device already holds everything up to the hinted seq.</summary>
    private void OnHint(ConversationHint hint)
    {
        if (hint.ConversationId.Length > 0 && hint.MaxSeq > (Buffer.Cursor(hint.ConversationId) ?? 0))
        {
            _puller?.Request(hint.ConversationId);
        }
    }

    private async Task<SyncResponse> SyncPageAsync(IReadOnlyDictionary<string, long> cursors, string afterConversationId, string? only, int limit, CancellationToken cancellationToken)
    {
        var request = new SyncRequest { RequestId = NewRequestId(), Limit = limit, AfterConversationId = only is null ? afterConversationId : "" };
        foreach (var (conversationId, cursor) in cursors)
        {
            if (only is null || conversationId == only)
            {
                request.Cursors[conversationId] = cursor;
            }
        }

        if (only is not null)
        {
            request.ConversationIds.Add(only);
        }

        var response = await Rpc.CallAsync("sync", request, request.RequestId, RpcResponse.ResultOneofCase.Sync, cancellationToken).ConfigureAwait(false);
        return response.Sync;
    }
}
