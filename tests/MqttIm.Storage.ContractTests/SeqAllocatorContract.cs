using System.Collections.Concurrent;
using MqttIm.ImExtensions.Sequencing;

namespace MqttIm.Storage.ContractTests;

/// <summary>What every <see cref="ISeqAllocator"/> must do: contiguous, gap-free, unique seqs per conversation.</summary>
public abstract class SeqAllocatorContract
{
    private readonly CancellationToken _ct = CancellationToken.None;

    /// <summary>An allocator that believes each conversation's stored max seq is <paramref name="storedMaxSeq"/>.</summary>
    protected abstract ISeqAllocator CreateAllocator(Func<string, long> storedMaxSeq);

    [Fact]
    public async Task Next_NewConversation_StartsAtOne()
    {
        var allocator = CreateAllocator(_ => 0);

        var first = await allocator.NextAsync("c", _ct);
        var second = await allocator.NextAsync("c", _ct);
        var third = await allocator.NextAsync("c", _ct);

        Assert.Equal((1L, 2L, 3L), (first, second, third));
    }

    [Fact]
    public async Task Next_ContinuesAfterStoredMax()
    {
        var allocator = CreateAllocator(id => id == "old" ? 41 : 0);

        Assert.Equal(42, await allocator.NextAsync("old", _ct));
        Assert.Equal(1, await allocator.NextAsync("new", _ct));
    }

    [Fact]
    public async Task Next_Concurrent_IsContiguousAndUnique()
    {
        var allocator = CreateAllocator(_ => 0);
        var seqs = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                seqs.Add(await allocator.NextAsync("hot", _ct));
            }
        })));

        Assert.Equal(Enumerable.Range(1, 4000).Select(i => (long)i), seqs.Order());
    }

    [Fact]
    public async Task NextMany_KeepsListOrderPerConversation_AndContinuesTheSequence()
    {
        var allocator = CreateAllocator(id => id == "old" ? 10 : 0);

        var first = await allocator.NextManyAsync(["a", "old", "a", "b", "a", "old"], _ct);
        var single = await allocator.NextAsync("a", _ct);
        var second = await allocator.NextManyAsync(["b", "old"], _ct);

        Assert.Equal([1L, 11L, 2L, 1L, 3L, 12L], first);
        Assert.Equal(4, single);
        Assert.Equal([2L, 13L], second);
    }

    [Fact]
    public async Task Resync_FollowsTheStoreAgain()
    {
        long stored = 0;
        var allocator = CreateAllocator(_ => stored);
        await allocator.NextAsync("c", _ct);
        await allocator.NextAsync("c", _ct);

        // The commit of seq 1 and 2 failed: the store still holds nothing, so the next seq must be 1 again.
        await allocator.ResyncAsync(["c"], _ct);
        Assert.Equal(1, await allocator.NextAsync("c", _ct));

        stored = 10;
        await allocator.ResyncAsync(["c"], _ct);
        Assert.Equal(11, await allocator.NextAsync("c", _ct));
    }
}
