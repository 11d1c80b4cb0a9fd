using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Sequencing;

/// <summary>Process-local counters, each seeded from the highest seq the store holds the first time a conversation is seen.</summary>
internal sealed class InMemorySeqAllocator(Func<string, CancellationToken, Task<long>> loadMaxSeq) : ISeqAllocator
{
    private sealed class Counter(long value)
    {
        public long Value = value;
    }

    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    // Seeding must happen once per conversation even when several callers race on a cold conversation.
    private readonly SemaphoreSlim _seedLock = new(1, 1);

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
                    _counters[conversationId] = counter;
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
            _counters.TryRemove(id, out _);
        }

        return ValueTask.CompletedTask;
    }
}
