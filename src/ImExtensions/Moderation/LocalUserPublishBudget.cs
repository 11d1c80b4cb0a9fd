using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Memory;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>
/// The embedded per-user budget: one <see cref="TokenBucket"/> per user, shared by the user's connections to this process.
/// The buckets are bounded (least recently used dropped): a dropped bucket comes back full, which only ever favours the user.
/// </summary>
internal sealed class LocalUserPublishBudget : IUserPublishBudget
{
    public const int Capacity = 100_000;

    private readonly BoundedLruCache<string, TokenBucket> _buckets = new("user_publish_budget", Capacity, StringComparer.Ordinal);
    private readonly Func<string, TokenBucket> _newBucket;

    public LocalUserPublishBudget(IOptions<ModerationOptions> options, TimeProvider time)
    {
        var value = options.Value;
        Enabled = value.UserRateLimitEnabled;
        _newBucket = _ => new TokenBucket(value.UserPublishesPerSecond, value.UserPublishBurst, time);
    }

    public bool Enabled { get; }

    public ValueTask<bool> TryTakeAsync(string userId) => new(!Enabled || _buckets.GetOrAdd(userId, _newBucket).TryTake());
}
