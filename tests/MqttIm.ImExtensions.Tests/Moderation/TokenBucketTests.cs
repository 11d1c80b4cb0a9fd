using Microsoft.Extensions.Options;
using MQTTnet.Formatter;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Moderation;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Moderation;

public sealed class TokenBucketTests
{
    private static int TakeAll(TokenBucket bucket, int max = 10_000)
    {
        var taken = 0;
        while (taken < max && bucket.TryTake())
        {
            taken++;
        }

        return taken;
    }

    [Fact]
    public void FullBucket_AllowsBurst_ThenRefusesUntilTimePasses()
    {
        var time = new ManualTimeProvider();
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 25, time);

        Assert.Equal(25, TakeAll(bucket));
        Assert.False(bucket.TryTake());

        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(bucket.TryTake());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());
    }

    [Fact]
    public void Refill_IsProportionalToElapsedTime_AndCappedAtBurst()
    {
        var time = new ManualTimeProvider();
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 25, time);
        TakeAll(bucket);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(10, TakeAll(bucket));

        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(25, TakeAll(bucket));
    }

    [Fact]
    public void FractionalRefill_Accumulates()
    {
        var time = new ManualTimeProvider();
        var bucket = new TokenBucket(ratePerSecond: 2, burst: 1, time);
        Assert.True(bucket.TryTake());
        for (var i = 0; i < 4; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            Assert.False(bucket.TryTake());
        }

        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(bucket.TryTake());
    }

    [Fact]
    public void ConcurrentTakers_NeverGetMoreThanTheBurst()
    {
        var bucket = new TokenBucket(ratePerSecond: 1, burst: 1000, new ManualTimeProvider());
        var taken = 0;
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 500; i++)
            {
                if (bucket.TryTake())
                {
                    Interlocked.Increment(ref taken);
                }
            }
        });

        Assert.Equal(1000, taken);
    }

    [Fact]
    public void Limiter_KeepsOneBucketPerConnection_AndANewConnectionStartsFull()
    {
        var time = new ManualTimeProvider();
        var limiter = new PublishRateLimiter(Options.Create(new ModerationOptions { PublishesPerSecond = 1, PublishBurst = 3 }), time);
        var first = Device("alice-phone");
        var other = Device("bob-phone");

        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => limiter.TryAcquire(first)));
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => limiter.TryAcquire(other)));

        // Same client id, new connection (a reconnect): a new ConnectedDevice instance, so a new bucket.
        var reconnected = Device("alice-phone");
        Assert.True(limiter.TryAcquire(reconnected));
        Assert.False(limiter.TryAcquire(first));
    }

    [Theory]
    [InlineData(0, 400)]
    [InlineData(200, 0)]
    public void Limiter_WithZeroRateOrBurst_IsOff(double rate, double burst)
    {
        var limiter = new PublishRateLimiter(Options.Create(new ModerationOptions { PublishesPerSecond = rate, PublishBurst = burst }), new ManualTimeProvider());
        var device = Device("c");
        Assert.False(limiter.Enabled);
        Assert.All(Enumerable.Range(0, 10_000), _ => Assert.True(limiter.TryAcquire(device)));
    }

    [Fact]
    public void Limiter_LogsAtMostOncePerSecondPerConnection_CountingTheRest()
    {
        var time = new ManualTimeProvider();
        var limiter = new PublishRateLimiter(Options.Create(new ModerationOptions()), time);
        var device = Device("d");

        Assert.True(limiter.ShouldLog(device, out var suppressed));
        Assert.Equal(0, suppressed);
        Assert.False(limiter.ShouldLog(device, out _));
        Assert.False(limiter.ShouldLog(device, out _));
        Assert.True(limiter.ShouldLog(Device("e"), out _));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.ShouldLog(device, out suppressed));
        Assert.Equal(2, suppressed);
    }

    private static ConnectedDevice Device(string clientId) =>
        new("user", clientId, IsMqtt5: true, WireFormat.Json, Guid.NewGuid().ToString("N"));
}
