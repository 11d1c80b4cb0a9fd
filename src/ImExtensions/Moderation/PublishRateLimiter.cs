using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>
/// One token bucket per live connection, keyed by its <see cref="ConnectedDevice"/> instance: the bucket goes away with
/// the connection (no cleanup hook), and a reconnect starts with a full bucket.
/// </summary>
internal sealed class PublishRateLimiter
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(1);
    private readonly ConditionalWeakTable<ConnectedDevice, TokenBucket> _buckets = new();
    private readonly ConditionalWeakTable<ConnectedDevice, LogThrottle> _logThrottles = new();
    private readonly ConditionalWeakTable<ConnectedDevice, TokenBucket>.CreateValueCallback _newBucket;
    private readonly ConditionalWeakTable<ConnectedDevice, LogThrottle>.CreateValueCallback _newLogThrottle;

    public PublishRateLimiter(IOptions<ModerationOptions> options, TimeProvider time)
    {
        var value = options.Value;
        Enabled = value.RateLimitEnabled;
        Rejection = UplinkRejection.RateLimited(FormattableString.Invariant(
            $"publish rate limit exceeded: {value.PublishesPerSecond} per second, burst {value.PublishBurst}"));
        _newBucket = _ => new TokenBucket(value.PublishesPerSecond, value.PublishBurst, time);
        _newLogThrottle = _ => new LogThrottle(time, LogInterval);
    }

    public bool Enabled { get; }

    /// <summary>The answer to a publish over the limit (built once).</summary>
    public UplinkRejection Rejection { get; }

    /// <summary>Whether this connection may publish now (takes a token if so).</summary>
    public bool TryAcquire(ConnectedDevice device) => !Enabled || _buckets.GetValue(device, _newBucket).TryTake();

    /// <summary>Whether a "rate limited" line for this connection may be logged now (at most one per second).</summary>
    public bool ShouldLog(ConnectedDevice device, out int suppressedSince) =>
        _logThrottles.GetValue(device, _newLogThrottle).TryEnter(out suppressedSince);
}
