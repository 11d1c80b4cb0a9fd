using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MqttIm.ImExtensions.Moderation;

namespace MqttIm.Storage.ContractTests;

/// <summary>
/// What every <see cref="IUserPublishBudget"/> must do: a token bucket per user (burst at once, then the rate), shared by
/// all the user's connections wherever they are (one process embedded; every node of a cluster).
/// </summary>
public abstract class UserPublishBudgetContract
{
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// <paramref name="count"/> budgets that together make one deployment: what the connections of one process share
    /// (embedded), or one budget per node on one Redis (cluster).
    /// </summary>
    internal abstract IReadOnlyList<IUserPublishBudget> CreateShared(ModerationOptions options, int count);

    private static ModerationOptions Limit(double rate, double burst) => new() { UserPublishesPerSecond = rate, UserPublishBurst = burst };

    private static async Task<int> TakeAsync(IUserPublishBudget budget, string userId, int attempts)
    {
        var granted = 0;
        for (var i = 0; i < attempts; i++)
        {
            granted += await budget.TryTakeAsync(userId) ? 1 : 0;
        }

        return granted;
    }

    [Fact]
    public async Task Burst_IsGrantedAtOnce_ThenRefused()
    {
        var budget = CreateShared(Limit(rate: 1, burst: 5), 1)[0];

        Assert.True(budget.Enabled);
        Assert.Equal(5, await TakeAsync(budget, "u", 5));
        Assert.False(await budget.TryTakeAsync("u"));
    }

    [Fact]
    public async Task Refills_AtTheRate_NeverBeyondTheBurst()
    {
        var budget = CreateShared(Limit(rate: 2, burst: 4), 1)[0];
        Assert.Equal(4, await TakeAsync(budget, "u", 6));

        Time.Advance(TimeSpan.FromSeconds(1.5)); // 3 tokens
        Assert.Equal(3, await TakeAsync(budget, "u", 5));

        Time.Advance(TimeSpan.FromMinutes(10)); // full again, and no fuller
        Assert.Equal(4, await TakeAsync(budget, "u", 10));
    }

    [Fact]
    public async Task Users_HaveBudgetsOfTheirOwn()
    {
        var budget = CreateShared(Limit(rate: 1, burst: 3), 1)[0];
        Assert.Equal(3, await TakeAsync(budget, "alice", 5));

        Assert.Equal(3, await TakeAsync(budget, "bob", 5));
        Assert.False(await budget.TryTakeAsync("alice"));
    }

    [Fact]
    public async Task OneUser_OnSeveralConnectionsOrNodes_SharesOneBudget()
    {
        var budgets = CreateShared(Limit(rate: 1, burst: 10), 2);

        var first = await TakeAsync(budgets[0], "u", 10);
        var second = await TakeAsync(budgets[1], "u", 10);

        Assert.Equal((10, 0), (first, second));
        Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, await TakeAsync(budgets[1], "u", 5));
    }

    [Fact]
    public async Task HighRates_SpentInAllowances_StillAddUpToTheBudget()
    {
        var budgets = CreateShared(Limit(rate: 100, burst: 50), 2);

        var first = await TakeAsync(budgets[0], "u", 30);
        var second = await TakeAsync(budgets[1], "u", 40);
        Assert.Equal((30, 20), (first, second));

        Time.Advance(TimeSpan.FromSeconds(5)); // full again
        Assert.Equal(50, await TakeAsync(budgets[0], "u", 60));
    }

    [Fact]
    public async Task ConcurrentTakers_OnSeveralNodes_NeverGetMoreThanTheBudget()
    {
        var budgets = CreateShared(Limit(rate: 1, burst: 100), 3);

        var granted = await Task.WhenAll(Enumerable.Range(0, 9).Select(i => Task.Run(() => TakeAsync(budgets[i % 3], "hot", 60))));

        Assert.InRange(granted.Sum(), 1, 100);
    }

    [Fact]
    public async Task Off_WhenRateOrBurstIsZero()
    {
        var budget = CreateShared(Limit(rate: 0, burst: 5), 1)[0];

        Assert.False(budget.Enabled);
        Assert.Equal(50, await TakeAsync(budget, "u", 50));
    }

    protected static IOptions<ModerationOptions> Wrap(ModerationOptions options) => Options.Create(options);
}
