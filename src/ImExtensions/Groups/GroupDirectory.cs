using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Groups;

/// <summary>
/// Cached group snapshots: the send and fan-out paths read members without touching the store. Bounded
/// (<c>Memory:GroupSnapshots</c>, least recently used dropped); a dropped group is simply loaded again.
/// </summary>
internal sealed class GroupDirectory
{
    public const int DefaultCapacity = 10_000;

    private readonly IGroupStore _store;
    private readonly BoundedLruCache<string, Task<GroupSnapshot?>> _cache;

    public GroupDirectory(IGroupStore store, int capacity = DefaultCapacity)
    {
        _store = store;
        _cache = new BoundedLruCache<string, Task<GroupSnapshot?>>("group_snapshots", capacity, StringComparer.Ordinal);
    }

    /// <summary>Raised after a refresh with the users who joined or left (all members when the previous state was not cached).</summary>
    public event Action<IEnumerable<string>>? MembersChanged;

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
        if (MembersChanged is { } changed)
        {
            var now = snapshot?.Members.Keys ?? Enumerable.Empty<string>();
            changed(previous is null ? now : now.Except(previous.Members.Keys).Concat(previous.Members.Keys.Except(now)).ToList());
        }

        return snapshot;
    }

    private async Task<GroupSnapshot?> LoadAsync(string groupId, CancellationToken cancellationToken)
    {
        var group = await _store.GetAsync(groupId, cancellationToken).ConfigureAwait(false);
        if (group is null)
        {
            return null;
        }

        var members = await _store.GetMembersAsync(groupId, cancellationToken).ConfigureAwait(false);
        return new GroupSnapshot(group, members.ToDictionary(m => m.UserId, StringComparer.Ordinal));
    }
}
