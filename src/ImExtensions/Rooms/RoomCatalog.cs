using System.Collections.Concurrent;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Rooms.Store;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// Room settings and moderation, read through a cache. On a single node every change goes through this process and
/// invalidates the entry; in a cluster entries also expire after a short time (changes made on another node reach nodes
/// with viewers at once through the room's bus, and the others within <see cref="ClusteredLifetime"/>).
/// </summary>
internal sealed class RoomCatalog(IRoomStore store, ClusterNode node, TimeProvider time)
{
    public static readonly TimeSpan ClusteredLifetime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);

    public async ValueTask<RoomInfo?> GetAsync(string roomId, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_cache.TryGetValue(roomId, out var entry) && (!node.IsClustered || time.GetElapsedTime(entry.LoadedAt, now) < ClusteredLifetime))
        {
            return entry.Info;
        }

        var info = await store.GetRoomAsync(roomId, cancellationToken).ConfigureAwait(false);
        _cache[roomId] = new Entry(info, now);
        return info;
    }

    /// <summary>What is cached, without I/O (the frame pump reads the room's rate from here).</summary>
    public RoomInfo? Cached(string roomId) => _cache.TryGetValue(roomId, out var entry) ? entry.Info : null;

    public void Invalidate(string roomId) => _cache.TryRemove(roomId, out _);

    private sealed record Entry(RoomInfo? Info, long LoadedAt);
}
