using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Groups;

/// <summary>
/// Cached group snapshots: the send and fan-out paths read members without touching the store. Bounded
/// (<c>Memory:GroupSnapshots</c>, least recently used dropped); a dropped group is simply loaded again.
/// </summary>
internal sealed class GroupDirectory
{
    public const int DefaultCapacity = 10_000;

    private const int MemberPageSize = 5000;

    private readonly IGroupStore _store;
    private readonly StoreWorkPool? _workers;
    private readonly BoundedLruCache<string, Task<GroupSnapshot?>> _cache;

    /// <param name="workers">Where a cache miss reads the store (off the socket thread); null reads inline (tests).</param>
    public GroupDirectory(IGroupStore store, int capacity = DefaultCapacity, StoreWorkPool? workers = null)
    {
        _store = store;
        _workers = workers;
        _cache = new BoundedLruCache<string, Task<GroupSnapshot?>>("group_snapshots", capacity, StringComparer.Ordinal);
    }

    /// <summary>Raised after a local change reloaded a group (the cluster tells the other nodes to drop their copy).</summary>
    public event Action<string>? Changed;

    /// <summary>
    /// Raised with the users who joined or left a group (all members when the previous state was not cached), or with
    /// null when who changed is unknown (a change made on another node): then anyone's membership may have changed.
    /// </summary>
    public event Action<IEnumerable<string>?>? MembersChanged;

    internal int CachedCount => _cache.Count;

    public Task<GroupSnapshot?> GetAsync(string groupId, CancellationToken cancellationToken)
    {
        if (!_cache.TryGetValue(groupId, out var loading))
        {
            // Loaded outside the cache's lock; a refresh that lands meanwhile wins (GetOrAdd keeps the first entry).
            var started = LoadAsync(groupId, CancellationToken.None);
            loading = _cache.GetOrAdd(groupId, _ => started);
        }

        if (loading.IsFaulted)
        {
            // Do not cache a failed load (the store may be back).
            _cache.Remove(groupId, loading);
        }

        return loading.WaitAsync(cancellationToken);
    }

    /// <summary>Reloads one group from the store after a change.</summary>
    public async Task<GroupSnapshot?> RefreshAsync(string groupId, CancellationToken cancellationToken)
    {
        var previous = _cache.TryGetValue(groupId, out var cached) && cached.IsCompletedSuccessfully ? cached.Result : null;
        var snapshot = await LoadAsync(groupId, cancellationToken).ConfigureAwait(false);
        _cache.Set(groupId, Task.FromResult(snapshot));
        if (MembersChanged is { } membersChanged)
        {
            var now = snapshot?.Members.Keys ?? Enumerable.Empty<string>();
            membersChanged(previous is null ? now : now.Except(previous.Members.Keys).Concat(previous.Members.Keys.Except(now)).ToList());
        }

        Changed?.Invoke(groupId);
        return snapshot;
    }

    /// <summary>Drops the cached snapshot; the next read loads it from the store (a change made on another node).</summary>
    public void Evict(string groupId)
    {
        _cache.Remove(groupId);
        MembersChanged?.Invoke(null);
    }

    /// <summary>Drops every cached snapshot (invalidations may have been missed while Redis was unreachable).</summary>
    public void EvictAll()
    {
        _cache.Clear();
        MembersChanged?.Invoke(null);
    }

    private Task<GroupSnapshot?> LoadAsync(string groupId, CancellationToken cancellationToken) =>
        _workers is null
            ? LoadFromStoreAsync(groupId, cancellationToken)
            : _workers.RunAsync(StoreWorkKind.Read, ct => LoadFromStoreAsync(groupId, ct), cancellationToken);

    private async Task<GroupSnapshot?> LoadFromStoreAsync(string groupId, CancellationToken cancellationToken)
    {
        var group = await _store.GetAsync(groupId, cancellationToken).ConfigureAwait(false);
        if (group is null)
        {
            return null;
        }

        // In pages, so a large group is never one huge read (and the snapshot is built while the pages stream in).
        var members = new Dictionary<string, GroupMember>(StringComparer.Ordinal);
        string? after = null;
        while (true)
        {
            var page = await _store.GetMembersPageAsync(groupId, after, MemberPageSize, cancellationToken).ConfigureAwait(false);
            foreach (var member in page)
            {
                members[member.UserId] = member;
            }

            if (page.Count < MemberPageSize)
            {
                return new GroupSnapshot(group, members);
            }

            after = page[^1].UserId;
        }
    }
}
