using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Memory;

/// <summary>
/// Configuration section <c>Memory</c>: the most entries each per-key in-memory structure holds. Beyond it the least
/// recently used entry is dropped and reloaded from the store when needed, so memory does not grow with every user,
/// conversation or group the broker has seen.
/// </summary>
public sealed class MemoryOptions
{
    public const string SectionName = "Memory";

    /// <summary>Conversations whose next seq is kept in memory (re-seeded from the store's highest seq after eviction).</summary>
    [Range(1, 100_000_000)]
    public int SeqCounters { get; set; } = 100_000;

    /// <summary>Group snapshots (settings and members) kept for the send and fan-out paths.</summary>
    [Range(1, 10_000_000)]
    public int GroupSnapshots { get; set; } = 10_000;

    /// <summary>Last-seen presence of offline users (online users are always held: they are bounded by connections).</summary>
    [Range(1, 100_000_000)]
    public int OfflinePresenceEntries { get; set; } = 100_000;

    /// <summary>Presence relations (who wrote in which 1:1 conversation, which groups a user is in) kept for the watch policy.</summary>
    [Range(1, 100_000_000)]
    public int PresenceRelations { get; set; } = 100_000;

    /// <summary>Client id → owning user bindings kept in front of the store.</summary>
    [Range(1, 100_000_000)]
    public int ClientIdOwners { get; set; } = 100_000;
}
