using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Storage.ContractTests;

/// <summary>What every <see cref="IGroupStore"/> must do.</summary>
public abstract class GroupStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    protected IGroupStore Groups { get; private set; } = null!;

    protected abstract Task<IGroupStore> CreateAsync();

    protected abstract Task DisposeStoreAsync();

    public async Task InitializeAsync() => Groups = await CreateAsync();

    public Task DisposeAsync() => DisposeStoreAsync();

    [Fact]
    public async Task Create_OnceOnly_AndUpdate()
    {
        Assert.True(await Groups.CreateAsync(new GroupRecord("g1", "Team", "alice", false, false), _ct));
        Assert.False(await Groups.CreateAsync(new GroupRecord("g1", "Other", "bob", false, false), _ct));

        await Groups.UpdateAsync(new GroupRecord("g1", "Renamed", "alice", AllMuted: true, Dissolved: false), _ct);

        Assert.Equal(new GroupRecord("g1", "Renamed", "alice", true, false), await Groups.GetAsync("g1", _ct));
        Assert.Null(await Groups.GetAsync("nope", _ct));
    }

    [Fact]
    public async Task Members_UpsertAndRemove()
    {
        await Groups.CreateAsync(new GroupRecord("g1", "Team", "alice", false, false), _ct);
        await Groups.UpsertMembersAsync("g1",
        [
            new GroupMember { UserId = "alice", Role = GroupRole.Owner, JoinedSeq = 1 },
            new GroupMember { UserId = "bob", Role = GroupRole.Member, JoinedSeq = 1 },
        ], _ct);
        await Groups.UpsertMembersAsync("g1", [new GroupMember { UserId = "bob", Role = GroupRole.Admin, JoinedSeq = 1, MutedUntilMs = 99 }, new GroupMember { UserId = "carol", JoinedSeq = 7 }], _ct);
        await Groups.RemoveMembersAsync("g1", ["alice"], _ct);

        var members = await Groups.GetMembersAsync("g1", _ct);
        Assert.Equal(["bob", "carol"], members.Select(m => m.UserId).Order());
        var bob = members.Single(m => m.UserId == "bob");
        Assert.Equal((GroupRole.Admin, 99L), (bob.Role, bob.MutedUntilMs));
        Assert.Equal(7, members.Single(m => m.UserId == "carol").JoinedSeq);
    }

    [Fact]
    public async Task LargeMemberLists_RoundTrip()
    {
        await Groups.CreateAsync(new GroupRecord("big", "Big", "u0", false, false), _ct);
        await Groups.UpsertMembersAsync("big", Enumerable.Range(0, 20_000).Select(i => new GroupMember { UserId = $"u{i}", JoinedSeq = 1 }).ToList(), _ct);

        Assert.Equal(20_000, (await Groups.GetMembersAsync("big", _ct)).Count);
    }
}
