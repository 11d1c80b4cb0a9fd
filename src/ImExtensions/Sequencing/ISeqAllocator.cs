namespace MqttIm.ImExtensions.Sequencing;

/// <summary>Hands out each conversation's next seq: strictly increasing and contiguous from 1.</summary>
/// <remarks>Implementations: <c>InMemorySeqAllocator</c> (embedded, seeded from the store); cluster allocators must pass the same contract tests.</remarks>
public interface ISeqAllocator
{
    /// <summary>
    /// True when every seq handed out is meant to be stored (seqs stay contiguous): a resend is then looked up before it
    /// takes a seq. A cluster allocator can leave permanent gaps anyway (sync reports them), so there the store's append
    /// alone catches resends and one store round trip per commit is saved; the resend's seq stays unused.
    /// </summary>
    bool KeepsSeqsContiguous => true;

    /// <summary>Reserves the next seq of the conversation.</summary>
    ValueTask<long> NextAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>
    /// Reserves one seq per entry, in order: entries of one conversation get increasing seqs in the order they are listed
    /// (a batch of commits in one call; a remote allocator answers it in one round trip).
    /// </summary>
    async ValueTask<long[]> NextManyAsync(IReadOnlyList<string> conversationIds, CancellationToken cancellationToken)
    {
        var seqs = new long[conversationIds.Count];
        for (var i = 0; i < seqs.Length; i++)
        {
            seqs[i] = await NextAsync(conversationIds[i], cancellationToken).ConfigureAwait(false);
        }

        return seqs;
    }

    /// <summary>Forgets what was handed out for these conversations, so the next seq follows what the store really holds (after a failed commit).</summary>
    ValueTask ResyncAsync(IEnumerable<string> conversationIds, CancellationToken cancellationToken);
}
