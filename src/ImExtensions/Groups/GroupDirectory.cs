using System.Collections.Concurrent;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Groups;

/// <summary>Cached group snapshots: the send and fan-out paths read members without touching the store.</summary>
internal sealed class GroupDirectory(IGroupStore store)
{
    private readonly ConcurrentDictionary<string, Task<GroupSnapshot?>> _cache = new(StringComparer.Ordinal);

    public Task<GroupSnapshot?> GetAsync(string groupId, CancellationToken cancellationToken)
    {
        var loading = _cache.GetOrAdd(groupId, id => LoadAsync(id, CancellationToken.None));
        if (loading.IsFaulted)
        {
            // Do not cache a failed load (the store may be back).
            _cache.TryRemove(new KeyValuePair<string, Task<GroupSnapshot?>>(groupId, loading));
        }

        return loading.WaitAsync(cancellationToken);
    }

    /// <summary>Reloads one group from the store after a change.</summary>
    public async Task<GroupSnapshot?> RefreshAsync(string groupId, CancellationToken cancellationToken)
    {
        var snapshot = await LoadAsync(groupId, cancellationToken).ConfigureAwait(false);
        _cache[groupId] = Task.FromResult(snapshot);
        Changed?.Invoke(groupId);
        return snapshot;
    }

    /// <summary>Raised after a local change reloaded a group (the cluster tells the other nodes to drop their copy).</summary>
    public event Action<string>? Changed;

    /// <summary>Drops the cached snapshot; the next read loads it from the store (a change made on another node).</summary>
    public void Evict(string groupId) => _cache.TryRemove(groupId, out _);

    /// <summary>Drops every cached snapshot (invalidations may have been missed while Redis was unreachable).</summary>
    public void EvictAll() => _cache.Clear();

    private async Task<GroupSnapshot?> LoadAsync(string groupId, CancellationToken cancellationToken)
    {
        var group = await store.GetAsync(groupId, cancellationToken).ConfigureAwait(false);
        if (group is null)
        {
            return null;
        }

        var members = await store.GetMembersAsync(groupId, cancellationToken).ConfigureAwait(false);
        return new GroupSnapshot(group, members.ToDictionary(m => m.UserId, StringComparer.Ordinal));
    }
}
