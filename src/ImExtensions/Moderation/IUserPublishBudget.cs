namespace MqttIm.ImExtensions.Moderation;

/// <summary>
/// A user's publish budget over all their connections (<c>Moderation:UserPublishesPerSecond</c> / <c>UserPublishBurst</c>),
/// on top of the per-connection bucket. Embedded: one token bucket per user in this process
/// (<see cref="LocalUserPublishBudget"/>); cluster: one bucket per user in Redis that every node draws from
/// (<c>Cluster/RedisUserPublishBudget</c>), so a user with devices on two nodes has the same budget as on one.
/// </summary>
internal interface IUserPublishBudget
{
    /// <summary>Whether a per-user limit is configured at all.</summary>
    bool Enabled { get; }

    /// <summary>Takes one publish from the user's budget; completes synchronously unless the cluster budget has to ask Redis.</summary>
    ValueTask<bool> TryTakeAsync(string userId);
}
