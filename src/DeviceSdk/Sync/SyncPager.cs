using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Sync;

/// <summary>Repeats sync with advanced cursors until the broker reports nothing more, handing every page over in order.</summary>
internal static class SyncPager
{
    // A runaway guard: a broker that keeps saying has_more without sending anything would otherwise loop forever.
    private const int MaxEmptyPages = 3;

    /// <summary>
    /// Runs the pages; <c>fetchPage</c> gets the cursors and the conversation id to continue after (the broker pages the
    /// conversations too); <c>onPage</c> gets the cursors the page was asked with and the page.
    /// </summary>
    public static async Task RunAsync(
        IReadOnlyDictionary<string, long> startCursors,
        Func<IReadOnlyDictionary<string, long>, string, CancellationToken, Task<SyncResponse>> fetchPage,
        Action<IReadOnlyDictionary<string, long>, SyncResponse> onPage,
        CancellationToken cancellationToken)
    {
        var cursors = new Dictionary<string, long>(startCursors, StringComparer.Ordinal);
        var emptyPages = 0;
        var after = "";
        while (true)
        {
            var page = await fetchPage(cursors, after, cancellationToken).ConfigureAwait(false);
            onPage(cursors, page);
            var progressed = false;
            foreach (var conversation in page.Conversations)
            {
                if (conversation.Messages.Count > 0)
                {
                    cursors[conversation.ConversationId] = conversation.Messages[^1].Seq;
                    progressed = true;
                }
            }

            if (!page.HasMore)
            {
                // This page of conversations is complete: on to the next one, if any.
                if (page.NextAfterConversationId.Length == 0)
                {
                    return;
                }

                if (string.CompareOrdinal(page.NextAfterConversationId, after) <= 0)
                {
                    throw new InvalidOperationException("sync pages conversations backwards");
                }

                after = page.NextAfterConversationId;
                emptyPages = 0;
                continue;
            }

            emptyPages = progressed ? 0 : emptyPages + 1;
            if (emptyPages >= MaxEmptyPages)
            {
                throw new InvalidOperationException("sync reports more messages but returns none");
            }
        }
    }
}
