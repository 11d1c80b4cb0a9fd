using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Moderation;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// The per-user publish budget of a cluster: one token bucket per user in Redis (<see cref="RedisKeys.UserRate"/>) that
/// every node draws from, so the limit holds however the user's devices are spread. To keep Redis off the hot path a
/// node takes a small allowance at a time (a lease: a tenth of a second's worth, 1 … 50 publishes) and spends it locally;
/// a refusal is remembered locally until the bucket has a token again, so a flooding user costs no round trip per publish.
/// </summary>
/// <remarks>
/// Tokens are only ever taken from the shared bucket, never created locally, so over any window a user gets at most the
/// burst plus the rate's worth of publishes in all. A lease not spent within a second is given up (it is what lets a
/// user who moves to another node use the budget there); that can only make the limit stricter, by at most one lease
/// per node. The bucket refills by the clock of the node that asks (never backwards), and expires once it would be
/// full again. While Redis is unreachable the user budget is not enforced (the per-connection limit still is).
/// </remarks>
internal sealed class RedisUserPublishBudget : IUserPublishBudget
{
    private static readonly TimeSpan LeaseLifetime = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxLocalRefusal = TimeSpan.FromSeconds(1);

    // Refill by elapsed time (never backwards), grant up to @want whole tokens, report when the next one is due.
    private static readonly LuaScript TakeScript = LuaScript.Prepare("""
        local rate = tonumber(@rate)
        local burst = tonumber(@burst)
        local now = tonumber(@now)
        local want = tonumber(@want)
        local state = redis.call('HMGET', @key, 't', 'ts')
        local tokens = tonumber(state[1])
        local ts = tonumber(state[2])
        if tokens == nil or ts == nil then
          tokens = burst
          ts = now
        end
        if now > ts then
          tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
          ts = now
        end
        local granted = math.min(want, math.floor(tokens))
        if granted < 0 then granted = 0 end
        tokens = tokens - granted
        redis.call('HSET', @key, 't', tostring(tokens), 'ts', tostring(ts))
        redis.call('PEXPIRE', @key, math.ceil(burst * 1000 / rate) + 1000)
        local wait = 0
        if granted == 0 then wait = math.ceil((1 - tokens) * 1000 / rate) end
        return { granted, wait }
        """);

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisUserPublishBudget> _logger;
    private readonly double _rate;
    private readonly double _burst;
    private readonly int _leaseSize;
    private readonly BoundedLruCache<string, Lease> _leases = new("user_publish_leases", LocalUserPublishBudget.Capacity, StringComparer.Ordinal);
    private readonly LogThrottle _unavailableLog;

    public RedisUserPublishBudget(IConnectionMultiplexer redis, RedisKeys keys, IOptions<ModerationOptions> options, TimeProvider time, ILogger<RedisUserPublishBudget> logger)
    {
        _redis = redis;
        _keys = keys;
        _time = time;
        _logger = logger;
        var value = options.Value;
        Enabled = value.UserRateLimitEnabled;
        _rate = value.UserPublishesPerSecond;
        _burst = Math.Max(1, value.UserPublishBurst);
        _leaseSize = LeaseSizeFor(_rate, _burst);
        _unavailableLog = new LogThrottle(time, TimeSpan.FromSeconds(10));
    }

    public bool Enabled { get; }

    /// <summary>Publishes taken from Redis at once: a tenth of a second's worth, at most a tenth of the burst, 1 … 50.</summary>
    public static int LeaseSizeFor(double rate, double burst) => (int)Math.Clamp(Math.Floor(Math.Min(rate, burst) / 10), 1, 50);

    public ValueTask<bool> TryTakeAsync(string userId)
    {
        if (!Enabled)
        {
            return new ValueTask<bool>(true);
        }

        var lease = _leases.GetOrAdd(userId, static _ => new Lease());
        var now = _time.GetTimestamp();
        lock (lease)
        {
            if (lease.Tokens > 0 && now < lease.ExpiresAt)
            {
                lease.Tokens--;
                return new ValueTask<bool>(true);
            }

            if (now < lease.RefusedUntil)
            {
                return new ValueTask<bool>(false);
            }
        }

        return new ValueTask<bool>(TakeFromRedisAsync(userId, lease));
    }

    private async Task<bool> TakeFromRedisAsync(string userId, Lease lease)
    {
        RedisResult[] answer;
        try
        {
            answer = (RedisResult[])(await _redis.GetDatabase().ScriptEvaluateAsync(TakeScript, new
            {
                key = _keys.UserRate(userId),
                rate = _rate,
                burst = _burst,
                now = _time.GetUtcNow().ToUnixTimeMilliseconds(),
                want = _leaseSize,
            }).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            if (_unavailableLog.TryEnter(out _))
            {
                ClusterLog.UserBudgetUnavailable(_logger, ex);
            }

            return true;
        }

        var granted = (long)answer[0];
        var waitMs = (long)answer[1];
        var now = _time.GetTimestamp();
        lock (lease)
        {
            if (granted > 0)
            {
                // What is left of an expired lease is not spent any more (the shared bucket has already paid for it).
                var left = now < lease.ExpiresAt ? lease.Tokens : 0;
                lease.Tokens = left + (int)granted - 1;
                lease.ExpiresAt = now + Ticks(LeaseLifetime);
                lease.RefusedUntil = 0;
                return true;
            }

            lease.RefusedUntil = now + Ticks(TimeSpan.FromMilliseconds(Math.Min(Math.Max(waitMs, 1), MaxLocalRefusal.TotalMilliseconds)));
            return false;
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>This node's unspent share of one user's bucket (guarded by locking the instance).</summary>
    private sealed class Lease
    {
        public int Tokens;
        public long ExpiresAt;
        public long RefusedUntil;
    }
}
