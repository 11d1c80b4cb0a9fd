using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Sync;

/// <summary>Repeats sync with advanced cursors until the broker reports nothing more, handing every page over in order.</summary>
internal static class SyncPager
{
    // A runaway guard: a broker that keeps saying has_more without sending anything would otherwise loop forever.
    private const int MaxEmptyPages = 3;

    /// <summary>Runs the pages; <c>onPage</c> gets the cursors the page was asked with and the page.</summary>
    public static async Task RunAsync(
        IReadOnlyDictionary<string, long> startCursors,
        Func<IReadOnlyDictionary<string, long>, CancellationToken, Task<SyncResponse>> fetchPage,
        Action<IReadOnlyDictionary<string, long>, SyncResponse> onPage,
        CancellationToken cancellationToken)
    {
        var cursors = new Dictionary<string, long>(startCursors, StringComparer.Ordinal);
        var emptyPages = 0;
        while (true)
        {
            var page = await fetchPage(cursors, cancellationToken).ConfigureAwait(false);
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
                return;
            }

            emptyPages = progressed ? 0 : emptyPages + 1;
            if (emptyPages >= MaxEmptyPages)
            {
                throw new InvalidOperationException("sync reports more messages but returns none");
            }
        }
    }
}
