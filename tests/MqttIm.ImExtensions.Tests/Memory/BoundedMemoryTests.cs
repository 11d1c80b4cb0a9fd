using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Sequencing;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Tests.Memory;

/// <summary>Issue 7: every per-key in-memory structure stays within its bound, and what it drops is reloaded correctly.</summary>
public sealed class BoundedMemoryTests
{
    [Fact]
    public void LruCache_HoldsItsCapacity_AndDropsTheLeastRecentlyUsed()
    {
        var cache = new BoundedLruCache<string, int>("test_lru", 3, StringComparer.Ordinal);
        cache.Set("a", 1);
        cache.Set("b", 2);
        cache.Set("c", 3);
        Assert.True(cache.TryGetValue("a", out _)); // a is now the most recent

        cache.Set("d", 4);

        Assert.Equal(3, cache.Count);
        Assert.False(cache.TryGetValue("b", out _));
        Assert.True(cache.TryGetValue("a", out var a) && a == 1);
        Assert.Equal(1, cache.Evictions);

        for (var i = 0; i < 10_000; i++)
        {
            cache.Set("k" + i, i);
        }

        Assert.Equal(3, cache.Count);
        Assert.Equal(1 + 10_000, cache.Evictions);
    }

    [Fact]
    public async Task SeqAllocator_IsBounded_AndContinuesFromTheStore_AfterEviction()
    {
        // The "store": the highest committed seq per conversation, as the commit loop leaves it after each batch.
        var stored = new Dictionary<string, long>();
        var allocator = new InMemorySeqAllocator((id, _) => Task.FromResult(stored.GetValueOrDefault(id)), capacity: 4);
        async Task<long> CommitNextAsync(string conversationId)
        {
            var seq = await allocator.NextAsync(conversationId, CancellationToken.None);
            stored[conversationId] = seq;
            return seq;
        }

        for (var expected = 1; expected <= 3; expected++)
        {
            Assert.Equal(expected, await CommitNextAsync("c2c:a:b"));
        }

        for (var i = 0; i < 1_000; i++)
        {
            Assert.Equal(1, await CommitNextAsync($"c2c:x:{i}"));
            Assert.True(allocator.Count <= 4);
        }

        Assert.True(allocator.Evictions >= 996);
        // c2c:a:b was evicted long ago: it is re-seeded from the store and never repeats a seq.
        Assert.Equal(4, await CommitNextAsync("c2c:a:b"));
        Assert.Equal(5, await CommitNextAsync("c2c:a:b"));
    }

    [Fact]
    public async Task GroupDirectory_IsBounded_AndReloadsADroppedGroup()
    {
        var store = new CountingGroupStore();
        var directory = new GroupDirectory(store, capacity: 2);

        foreach (var id in new[] { "g1", "g2", "g3" })
        {
            Assert.Equal(id, (await directory.GetAsync(id, CancellationToken.None))!.Group.GroupId);
        }

        Assert.Equal(2, directory.CachedCount);
        Assert.Equal(3, store.Loads);
        await directory.GetAsync("g3", CancellationToken.None); // cached
        Assert.Equal(3, store.Loads);

        var reloaded = await directory.GetAsync("g1", CancellationToken.None); // dropped: read again from the store
        Assert.Equal(4, store.Loads);
        Assert.NotNull(reloaded!.Find("owner-g1"));
        Assert.Equal(2, directory.CachedCount);
    }

    [Fact]
    public async Task KeyedLocks_HoldNoEntryForIdleKeys_AndStillExclude()
    {
        var locks = new KeyedLocks("test_locks");
        for (var i = 0; i < 1_000; i++)
        {
            using (await locks.AcquireAsync("group" + i))
            {
                Assert.Equal(1, locks.Count);
            }
        }

        Assert.Equal(0, locks.Count);

        var first = await locks.AcquireAsync("g");
        var second = locks.AcquireAsync("g").AsTask();
        Assert.False(second.IsCompleted, "a second holder of the same key must wait");
        first.Dispose();
        (await second.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public void PresenceTracker_BoundsOfflineEntries_KeepsEveryOnlineUser()
    {
        var tracker = new PresenceTracker(offlineCapacity: 2);
        for (var i = 0; i < 10; i++)
        {
            tracker.Apply("u" + i, ["d" + i], 100 + i);
        }

        Assert.Equal(10, tracker.OnlineCount);
        for (var i = 0; i < 10; i++)
        {
            tracker.Apply("u" + i, [], 200 + i);
        }

        Assert.Equal((0, 2), (tracker.OnlineCount, tracker.OfflineCount));
        Assert.Equal((false, 209L), (tracker.Get("u9").Online, tracker.Get("u9").ChangedMs));
        // A dropped last-seen reads as "offline, last seen unknown" — never as online.
        Assert.Equal((false, 0L), (tracker.Get("u0").Online, tracker.Get("u0").ChangedMs));
    }

    /// <summary>Groups g* exist with one owner each; counts how often a group is loaded.</summary>
    private sealed class CountingGroupStore : IGroupStore
    {
        public int Loads { get; private set; }

        public Task<GroupRecord?> GetAsync(string groupId, CancellationToken cancellationToken)
        {
            Loads++;
            return Task.FromResult<GroupRecord?>(new GroupRecord(groupId, groupId, "owner-" + groupId, false, false));
        }

        public Task<IReadOnlyList<GroupMember>> GetMembersAsync(string groupId, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<GroupMember>>([new GroupMember { UserId = "owner-" + groupId, Role = GroupRole.Owner, JoinedSeq = 1 }]);

        public async Task<IReadOnlyList<GroupMember>> GetMembersPageAsync(string groupId, string? afterUserId, int limit, CancellationToken cancellationToken) =>
            (await GetMembersAsync(groupId, cancellationToken)).Where(m => afterUserId is null || string.CompareOrdinal(m.UserId, afterUserId) > 0).Take(limit).ToList();

        public async Task<GroupMember?> GetMemberAsync(string groupId, string userId, CancellationToken cancellationToken) =>
            (await GetMembersAsync(groupId, cancellationToken)).FirstOrDefault(m => m.UserId == userId);

        public Task<bool> CreateAsync(GroupRecord group, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task UpdateAsync(GroupRecord group, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task UpsertMembersAsync(string groupId, IReadOnlyCollection<GroupMember> members, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task RemoveMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
