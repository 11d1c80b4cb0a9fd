using MQTTnet;
using MQTTnet.Formatter;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Groups: membership, roles, mutes, seq order, history from the join, one stored copy per message.</summary>
public sealed class GroupTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    private static async Task<GroupInfo> GroupRpcAsync(TestDevice device, string method, GroupRequest request)
    {
        request.RequestId = Guid.NewGuid().ToString("N");
        var response = await device.RpcAsync($"group/{method}", request, request.RequestId);
        Assert.True(response.ResultCase == RpcResponse.ResultOneofCase.Group, $"group/{method}: {response}");
        return response.Group;
    }

    private static async Task<RpcError> GroupRpcErrorAsync(TestDevice device, string method, GroupRequest request)
    {
        request.RequestId = Guid.NewGuid().ToString("N");
        var response = await device.RpcAsync($"group/{method}", request, request.RequestId);
        Assert.Equal(RpcResponse.ResultOneofCase.Error, response.ResultCase);
        return response.Error;
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task SmallGroup_MembersReceiveInSeqOrder_OutsidersAndMutedAreRefused(MqttProtocolVersion version)
    {
        var (owner, bob, carol, eve) = (TestUsers.Unique("own"), TestUsers.Unique("bob"), TestUsers.Unique("car"), TestUsers.Unique("eve"));
        await using var o = await TestDevice.ConnectAsync(_broker, owner, version: version);
        await using var b = await TestDevice.ConnectAsync(_broker, bob, version: version);
        await using var c = await TestDevice.ConnectAsync(_broker, carol, version: version);
        await using var e = await TestDevice.ConnectAsync(_broker, eve, version: version);

        var group = await GroupRpcAsync(o, "create", new GroupRequest { Name = "team", UserIds = { bob, carol } });
        Assert.Equal(3, group.MemberCount);
        var topic = $"im/group/{group.GroupId}";

        for (var i = 0; i < 6; i++)
        {
            var sender = i % 2 == 0 ? o : b;
            var result = await sender.PublishAsync(topic, sender.Encode(new SendRequest { Text = $"g{i}" }));
            Assert.True(version == MqttProtocolVersion.V311 || result.IsSuccess, result.ReasonString);
        }

        // Carol sees the creation event (seq 1) and all six messages, in seq order.
        var seen = new List<ChatMessage>();
        while (seen.Count < 7)
        {
            seen.Add(await c.NextChatMessageAsync());
        }

        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), seen.Select(m => m.Seq));
        Assert.Equal(MessageKind.GroupEvent, seen[0].Kind);
        Assert.Equal(["g0", "g1", "g2", "g3", "g4", "g5"], seen.Skip(1).Select(m => m.Text));
        Assert.All(seen, m => Assert.Equal($"group:{group.GroupId}", m.ConversationId));

        // An outsider is refused and nothing reaches the members.
        await e.PublishAsync(topic, e.Encode(new SendRequest { Text = "let me in" }));
        var refusal = await e.NextEventAsync(ev => ev.EventCase == InboxEvent.EventOneofCase.SendError);
        Assert.Equal("not_member", refusal.SendError.Code);

        // A muted member is refused until unmuted.
        await GroupRpcAsync(o, "mute", new GroupRequest { GroupId = group.GroupId, UserIds = { bob }, MuteSeconds = 600 });
        Assert.Equal(MessageKind.GroupEvent, (await c.NextChatMessageAsync()).Kind);
        await b.PublishAsync(topic, b.Encode(new SendRequest { Text = "muted?" }));
        Assert.Equal("muted", (await b.NextEventAsync(ev => ev.EventCase == InboxEvent.EventOneofCase.SendError)).SendError.Code);
        // Barrier: the owner's next group message reaches carol after anything the refused sends could have.
        var marker = "marker-" + Guid.NewGuid().ToString("N");
        Assert.Empty(await c.ReceivedBeforeAsync(() => o.PublishAsync(topic, o.Encode(new SendRequest { Text = marker })), m => TestDevice.IsChat(m, marker)));
    }

    [Fact]
    public async Task Roles_OnlyManagersChangeTheGroup_AndWholeGroupMute()
    {
        var (owner, admin, member) = (TestUsers.Unique("own"), TestUsers.Unique("adm"), TestUsers.Unique("mem"));
        await using var o = await TestDevice.ConnectAsync(_broker, owner);
        await using var a = await TestDevice.ConnectAsync(_broker, admin);
        await using var m = await TestDevice.ConnectAsync(_broker, member);
        var group = await GroupRpcAsync(o, "create", new GroupRequest { Name = "roles", UserIds = { admin, member } });

        Assert.Equal("not_authorized", (await GroupRpcErrorAsync(m, "rename", new GroupRequest { GroupId = group.GroupId, Name = "mine" })).Code);
        Assert.Equal("not_authorized", (await GroupRpcErrorAsync(a, "set_role", new GroupRequest { GroupId = group.GroupId, UserIds = { member }, Role = GroupRole.Admin })).Code);
        await GroupRpcAsync(o, "set_role", new GroupRequest { GroupId = group.GroupId, UserIds = { admin }, Role = GroupRole.Admin });
        Assert.Equal("renamed", (await GroupRpcAsync(a, "rename", new GroupRequest { GroupId = group.GroupId, Name = "renamed" })).Name);
        Assert.Equal("not_authorized", (await GroupRpcErrorAsync(a, "remove_members", new GroupRequest { GroupId = group.GroupId, UserIds = { owner } })).Code);

        await GroupRpcAsync(a, "mute", new GroupRequest { GroupId = group.GroupId, AllMuted = true });
        var memberSend = await m.PublishAsync($"im/group/{group.GroupId}", m.Encode(new SendRequest { Text = "x" }));
        var adminSend = await a.PublishAsync($"im/group/{group.GroupId}", a.Encode(new SendRequest { Text = "announcement" }));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, memberSend.ReasonCode);
        Assert.True(adminSend.IsSuccess);

        var info = await GroupRpcAsync(m, "info", new GroupRequest { GroupId = group.GroupId });
        Assert.True(info.AllMuted);
        Assert.Equal(GroupRole.Admin, info.Members.Single(x => x.UserId == admin).Role);

        // A member may leave on their own; then the group refuses them.
        Assert.Equal(2, (await GroupRpcAsync(m, "remove_members", new GroupRequest { GroupId = group.GroupId, UserIds = { member } })).MemberCount);
        Assert.Equal("not_authorized", (await GroupRpcErrorAsync(m, "info", new GroupRequest { GroupId = group.GroupId })).Code);

        await GroupRpcAsync(o, "dissolve", new GroupRequest { GroupId = group.GroupId });
        var afterDissolve = await o.PublishAsync($"im/group/{group.GroupId}", o.Encode(new SendRequest { Text = "anyone?" }));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, afterDissolve.ReasonCode);
    }

    [Fact]
    public async Task LateMember_SeesHistoryFromTheirJoin_NotBefore()
    {
        var (owner, late) = (TestUsers.Unique("own"), TestUsers.Unique("late"));
        await using var o = await TestDevice.ConnectAsync(_broker, owner);
        var group = await GroupRpcAsync(o, "create", new GroupRequest { Name = "history" });
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await o.PublishAsync($"im/group/{group.GroupId}", o.Encode(new SendRequest { Text = $"before {i}" }))).IsSuccess);
        }

        await GroupRpcAsync(o, "add_members", new GroupRequest { GroupId = group.GroupId, UserIds = { late } });
        Assert.True((await o.PublishAsync($"im/group/{group.GroupId}", o.Encode(new SendRequest { Text = "after" }))).IsSuccess);

        await using var l = await TestDevice.ConnectAsync(_broker, late);
        var synced = (await l.SyncAllAsync())[$"group:{group.GroupId}"];
        Assert.Equal([7L, 8], synced.Select(m => m.Seq));
        Assert.Equal(MessageKind.GroupEvent, synced[0].Kind);
        Assert.Equal("after", synced[1].Text);

        var history = await l.RpcAsync("history", new HistoryRequest { RequestId = "h", ConversationId = $"group:{group.GroupId}" }, "h");
        Assert.Equal([7L, 8], history.History.Messages.Select(m => m.Seq));
        Assert.False(history.History.HasMore);
    }

    [Fact]
    public async Task AdminHttp_CreatesGroupsAndManagesMembers()
    {
        var (owner, bob) = (TestUsers.Unique("own"), TestUsers.Unique("bob"));
        var created = await _broker.AdminPostAsync("/api/admin/groups", new { name = "ops", ownerId = owner, memberIds = new[] { bob } });
        var groupId = created.GetProperty("groupId").GetString()!;
        Assert.Equal(2, created.GetProperty("memberCount").GetInt32());

        await using var b = await TestDevice.ConnectAsync(_broker, bob);
        await using var o = await TestDevice.ConnectAsync(_broker, owner);
        Assert.True((await b.PublishAsync($"im/group/{groupId}", b.Encode(new SendRequest { Text = "hello ops" }))).IsSuccess);
        Assert.Equal("hello ops", (await o.NextChatMessageAsync()).Text);

        var renamed = await _broker.AdminPostAsync($"/api/admin/groups/{groupId}/rename", new { name = "ops-renamed" });
        Assert.Equal("ops-renamed", renamed.GetProperty("name").GetString());
        await _broker.AdminPostAsync($"/api/admin/groups/{groupId}/roles", new { userIds = new[] { bob }, admin = true });
        var muted = await _broker.AdminPostAsync($"/api/admin/groups/{groupId}/mute", new { allMuted = true });
        Assert.True(muted.GetProperty("allMuted").GetBoolean());
        // Bob is an admin now, so the whole-group mute does not silence him.
        Assert.True((await b.PublishAsync($"im/group/{groupId}", b.Encode(new SendRequest { Text = "admins still talk" }))).IsSuccess);

        using var http = _broker.Http();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.DeleteAsync($"/api/admin/groups/{groupId}/members/{bob}")).StatusCode);
        var removal = await b.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.Message && e.Message.Kind == MessageKind.GroupEvent && e.Message.Ext["event"] == "members_removed");
        Assert.Equal(bob, removal.Message.Ext["users"]);
        var refused = await b.PublishAsync($"im/group/{groupId}", b.Encode(new SendRequest { Text = "still here?" }));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/api/admin/groups/nosuchgroup")).StatusCode);
    }
}
