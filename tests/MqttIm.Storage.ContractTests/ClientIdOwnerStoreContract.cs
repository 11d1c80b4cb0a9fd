using MqttIm.ImExtensions.Storage;

namespace MqttIm.Storage.ContractTests;

/// <summary>What every <see cref="IClientIdOwnerStore"/> must do: the first claim wins, for good, also across reopen and races.</summary>
public abstract class ClientIdOwnerStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    protected IClientIdOwnerStore Owners { get; private set; } = null!;

    protected abstract Task<IClientIdOwnerStore> CreateAsync();

    /// <summary>The same data through a fresh store instance (a restarted node).</summary>
    protected abstract Task<IClientIdOwnerStore> ReopenAsync();

    protected abstract Task DisposeStoreAsync();

    public async Task InitializeAsync() => Owners = await CreateAsync();

    public Task DisposeAsync() => DisposeStoreAsync();

    [Fact]
    public async Task FirstClaim_Wins_AndHolds()
    {
        Assert.Equal("alice", await Owners.ClaimAsync("alice-phone", "alice", _ct));
        Assert.Equal("alice", await Owners.ClaimAsync("alice-phone", "mallory", _ct));
        Assert.Equal("alice", await Owners.ClaimAsync("alice-phone", "alice", _ct));
        Assert.Equal("mallory", await Owners.ClaimAsync("mallory-1", "mallory", _ct));
    }

    [Fact]
    public async Task Binding_SurvivesReopen()
    {
        await Owners.ClaimAsync("dev-1", "alice", _ct);

        var reopened = await ReopenAsync();

        Assert.Equal("alice", await reopened.ClaimAsync("dev-1", "mallory", _ct));
    }

    [Fact]
    public async Task RacingClaims_AgreeOnOneOwner()
    {
        var claims = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Owners.ClaimAsync("contested", $"user{i}", _ct)));

        Assert.Single(claims.Distinct());
        Assert.StartsWith("user", claims[0]);
    }
}
