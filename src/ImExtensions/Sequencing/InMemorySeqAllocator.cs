using MqttIm.ImExtensions.Memory;

namespace MqttIm.ImExtensions.Sequencing;

/// <summary>
/// Process-local counters, each seeded from the highest seq the store holds the first time a conversation is seen.
/// Bounded (<c>Memory:SeqCounters</c>): the least recently used counter is dropped and re-seeded from the store when its
/// conversation comes back, which cannot repeat a seq because the single commit loop stores every seq it took before
/// taking the next batch, and a batch (at most <c>Storage:MaxCommitBatch</c>) never evicts its own counters: the
/// registration keeps the capacity above twice that.
/// </summary>
internal sealed class InMemorySeqAllocator(Func<string, CancellationToken, Task<long>> loadMaxSeq, int capacity = InMemorySeqAllocator.DefaultCapacity) : ISeqAllocator
{
    public const int DefaultCapacity = 100_000;

    private sealed class Counter(long value)
    {
        public long Value = value;
    }

    private readonly BoundedLruCache<string, Counter> _counters = new("seq_counters", capacity, StringComparer.Ordinal);
    // Seeding must happen once per conversation even when several callers race on a cold conversation.
    private readonly SemaphoreSlim _seedLock = new(1, 1);

    internal int Count => _counters.Count;

    internal long Evictions => _counters.Evictions;

    public async ValueTask<long> NextAsync(string conversationId, CancellationToken cancellationToken)
    {
        if (!_counters.TryGetValue(conversationId, out var counter))
        {
            await _seedLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!_counters.TryGetValue(conversationId, out counter))
                {
                    counter = new Counter(await loadMaxSeq(conversationId, cancellationToken).ConfigureAwait(false));
                    _counters.Set(conversationId, counter);
                }
            }
            finally
            {
                _seedLock.Release();
            }
        }

        return Interlocked.Increment(ref counter.Value);
    }

    public ValueTask ResyncAsync(IEnumerable<string> conversationIds, CancellationToken cancellationToken)
    {
        foreach (var id in conversationIds)
        {
            _counters.Remove(id);
        }

        return ValueTask.CompletedTask;
    }
}
