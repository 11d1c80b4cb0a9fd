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

        var members = await AllMembersAsync("g1", pageSize: 1);
        Assert.Equal(["bob", "carol"], members.Select(m => m.UserId).Order());
        var bob = members.Single(m => m.UserId == "bob");
        Assert.Equal((GroupRole.Admin, 99L), (bob.Role, bob.MutedUntilMs));
        Assert.Equal(7, members.Single(m => m.UserId == "carol").JoinedSeq);
        Assert.Equal((GroupRole.Admin, 99L), ((await Groups.GetMemberAsync("g1", "bob", _ct))!.Role, (await Groups.GetMemberAsync("g1", "bob", _ct))!.MutedUntilMs));
        Assert.Null(await Groups.GetMemberAsync("g1", "alice", _ct));
        Assert.Null(await Groups.GetMemberAsync("other", "bob", _ct));
    }

    [Fact]
    public async Task LargeMemberLists_RoundTrip()
    {
        await Groups.CreateAsync(new GroupRecord("big", "Big", "u0", false, false), _ct);
        await Groups.UpsertMembersAsync("big", Enumerable.Range(0, 20_000).Select(i => new GroupMember { UserId = $"u{i}", JoinedSeq = 1 }).ToList(), _ct);

        var all = await AllMembersAsync("big", pageSize: 3000);

        Assert.Equal(20_000, all.Count);
        Assert.Equal(all.Select(m => m.UserId).Order(StringComparer.Ordinal), all.Select(m => m.UserId)); // pages in ordinal order
        Assert.Equal(20_000, all.Select(m => m.UserId).Distinct().Count());
        Assert.Empty(await Groups.GetMembersPageAsync("big", all[^1].UserId, 10, _ct));
    }

    [Fact]
    public async Task MembersPage_StartsAfterTheGivenUser_AndKeepsGroupsApart()
    {
        await Groups.UpsertMembersAsync("g1", new[] { "b", "a", "d", "c" }.Select(u => new GroupMember { UserId = u, JoinedSeq = 1 }).ToList(), _ct);
        await Groups.UpsertMembersAsync("g2", [new GroupMember { UserId = "bb", JoinedSeq = 1 }], _ct);

        Assert.Equal(["a", "b"], (await Groups.GetMembersPageAsync("g1", null, 2, _ct)).Select(m => m.UserId));
        Assert.Equal(["c", "d"], (await Groups.GetMembersPageAsync("g1", "b", 5, _ct)).Select(m => m.UserId));
        Assert.Equal(["c"], (await Groups.GetMembersPageAsync("g1", "bb", 1, _ct)).Select(m => m.UserId));
    }

    [Fact]
    public async Task GroupIdsOfUser_FollowMembership_InOrdinalOrder()
    {
        await Groups.UpsertMembersAsync("gb", [new GroupMember { UserId = "erin", JoinedSeq = 1 }, new GroupMember { UserId = "frank", JoinedSeq = 1 }], _ct);
        await Groups.UpsertMembersAsync("ga", [new GroupMember { UserId = "erin", JoinedSeq = 3 }], _ct);
        await Groups.UpsertMembersAsync("gc", [new GroupMember { UserId = "frank", JoinedSeq = 1 }], _ct);
        await Groups.UpsertMembersAsync("gB", [new GroupMember { UserId = "erin", JoinedSeq = 1 }], _ct);

        Assert.Equal(["gB", "ga", "gb"], await Groups.GetGroupIdsOfUserAsync("erin", _ct));
        Assert.Equal(["gb", "gc"], await Groups.GetGroupIdsOfUserAsync("frank", _ct));
        Assert.Empty(await Groups.GetGroupIdsOfUserAsync("erinn", _ct));

        await Groups.RemoveMembersAsync("ga", ["erin"], _ct);
        Assert.Equal(["gB", "gb"], await Groups.GetGroupIdsOfUserAsync("erin", _ct));
    }

    private async Task<List<GroupMember>> AllMembersAsync(string groupId, int pageSize)
    {
        var all = new List<GroupMember>();
        for (var pages = 0; pages < 100_000; pages++)
        {
            var page = await Groups.GetMembersPageAsync(groupId, all.Count > 0 ? all[^1].UserId : null, pageSize, _ct);
            all.AddRange(page);
            if (page.Count < pageSize)
            {
                break;
            }
        }

        return all;
    }
}
