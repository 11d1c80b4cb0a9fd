using MQTTnet;
using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Small groups: sending and receiving in seq order, members added later, refusals and group management.</summary>
public sealed class GroupTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Fact]
    public async Task GroupMessagesArriveInSeqOrderAtEveryMemberWithOwnSendsRebuiltFromAcks()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        await using var carolClient = await fixture.ConnectAsync(carol, o => o.ProtocolVersion = MQTTnet.Formatter.MqttProtocolVersion.V311);

        var group = await aliceClient.Groups.CreateAsync("team", [bob, carol]);
        Assert.Equal((alice, 3, "team"), (group.OwnerId, group.MemberCount, group.Name));
        var conversation = ConversationIds.Group(group.GroupId);

        // All three send at once: the broker orders them, and every member must still see 1..N without gaps.
        const int perMember = 5;
        var sends = new[] { aliceClient, bobClient, carolClient }.Select(client => Task.Run(async () =>
        {
            var acks = new List<SendAck>();
            for (var i = 1; i <= perMember; i++)
            {
                acks.Add(await client.SendToGroupAsync(group.GroupId, $"{client.UserId[..5]} {i}"));
            }

            return acks;
        })).ToList();
        var allAcks = (await Task.WhenAll(sends)).SelectMany(a => a).ToList();
        Assert.All(allAcks, a => Assert.Equal(conversation, a.ConversationId));
        Assert.Equal(Streams.Range(2, 1 + (3 * perMember)), allAcks.Select(a => a.Seq).Order().ToList());

        var total = 1 + (3 * perMember);
        var seen = new List<List<ChatMessage>>();
        foreach (var client in new[] { aliceClient, bobClient, carolClient })
        {
            var received = await client.TakeAsync(total);
            Assert.Equal(Streams.Range(1, total), received.Seqs());
            Assert.All(received, m => Assert.Equal((conversation, group.GroupId, ""), (m.ConversationId, m.GroupId, m.RecipientId)));
            var created = received[0];
            Assert.Equal((MessageKind.GroupEvent, "created", alice), (created.Kind, created.Ext["event"], created.SenderId));
            Assert.All(received.Skip(1), m => Assert.Equal(MessageKind.Normal, m.Kind));
            Assert.Equal(total, client.Cursors[conversation]);

            // Each member's own messages came from its acks, in its own sending order.
            var own = received.Where(m => m.SenderId == client.UserId && m.Kind == MessageKind.Normal).ToList();
            Assert.Equal(Enumerable.Range(1, perMember).Select(i => $"{client.UserId[..5]} {i}"), own.Select(m => m.Text));
            Assert.All(own, m => Assert.Equal(client.DeviceId, m.SenderDevice));
            seen.Add(received);
        }

        // Everyone agrees on what each seq is.
        Assert.Equal(seen[0].Select(m => m.ServerMsgId), seen[1].Select(m => m.ServerMsgId));
        Assert.Equal(seen[0].Select(m => m.Text), seen[2].Select(m => m.Text));
    }

    [Fact]
    public async Task MemberAddedLaterGetsTheJoinEventAndLaterMessagesWithoutWaitingForEarlierSeqs()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        // A long gap timeout: a stall waiting for seqs 1..6 would show as a timeout below, not be hidden by a quick fill.
        await using var carolClient = await fixture.ConnectAsync(carol, o => o.GapTimeout = TimeSpan.FromMinutes(5));
        var group = await aliceClient.Groups.CreateAsync("late", [bob]);
        var conversation = ConversationIds.Group(group.GroupId);
        for (var i = 1; i <= 5; i++)
        {
            await aliceClient.SendToGroupAsync(group.GroupId, $"before {i}");
        }

        var added = await aliceClient.Groups.AddMembersAsync(group.GroupId, [carol]);
        Assert.Equal(3, added.MemberCount);
        await aliceClient.SendToGroupAsync(group.GroupId, "after 1");
        await aliceClient.SendToGroupAsync(group.GroupId, "after 2");

        var received = await carolClient.TakeAsync(3);
        Assert.Equal([7L, 8L, 9L], received.Seqs());
        Assert.Equal((MessageKind.GroupEvent, "members_added", carol), (received[0].Kind, received[0].Ext["event"], received[0].Ext["users"]));
        Assert.Equal(["after 1", "after 2"], received.Skip(1).Select(m => m.Text));
        Assert.Equal(9, carolClient.Cursors[conversation]);

        // Another device of carol catches up on connect from the join, not from seq 1.
        await using var carolTablet = await fixture.ConnectAsync(carol, o => o.GapTimeout = TimeSpan.FromMinutes(5));
        Assert.Equal([7L, 8L, 9L], (await carolTablet.TakeAsync(3)).Seqs());
        await aliceClient.SendToGroupAsync(group.GroupId, "after 3");
        Assert.Equal(10, Assert.Single(await carolTablet.TakeAsync(1)).Seq);
        Assert.Equal(10, Assert.Single(await carolClient.TakeAsync(1)).Seq);
    }

    [Fact]
    public async Task NonMembersAndMutedMembersAreRefusedWithTheirCode()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var dave = BrokerFixture.NewUser("dave");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        await using var daveClient = await fixture.ConnectAsync(dave);
        await using var dave311 = await fixture.ConnectAsync(dave, o => o.ProtocolVersion = MQTTnet.Formatter.MqttProtocolVersion.V311);
        var group = await aliceClient.Groups.CreateAsync("closed", [bob]);

        var outsider = await Assert.ThrowsAsync<MqttImSendException>(() => daveClient.SendToGroupAsync(group.GroupId, "let me in"));
        Assert.Equal(("not_member", MqttClientPublishReasonCode.NotAuthorized), (outsider.Code, outsider.ReasonCode));
        var outsider311 = await Assert.ThrowsAsync<MqttImSendException>(() => dave311.SendToGroupAsync(group.GroupId, "let me in"));
        Assert.Equal(("not_member", MqttClientPublishReasonCode.NotAuthorized), (outsider311.Code, outsider311.ReasonCode));
        var noGroup = await Assert.ThrowsAsync<MqttImSendException>(() => daveClient.SendToGroupAsync("no-such-group-x", "hello?"));
        Assert.Equal("not_member", noGroup.Code);

        await aliceClient.Groups.MuteMembersAsync(group.GroupId, [bob], TimeSpan.FromMinutes(1));
        var muted = await Assert.ThrowsAsync<MqttImSendException>(() => bobClient.SendToGroupAsync(group.GroupId, "can I talk?"));
        Assert.Equal(("muted", MqttClientPublishReasonCode.NotAuthorized), (muted.Code, muted.ReasonCode));
        await aliceClient.Groups.MuteMembersAsync(group.GroupId, [bob], TimeSpan.Zero);
        var fine = await bobClient.SendToGroupAsync(group.GroupId, "thanks");

        await aliceClient.Groups.MuteAllAsync(group.GroupId, true);
        Assert.Equal("muted", (await Assert.ThrowsAsync<MqttImSendException>(() => bobClient.SendToGroupAsync(group.GroupId, "hm"))).Code);
        var ownerSpeaks = await aliceClient.SendToGroupAsync(group.GroupId, "only the owner talks now");

        // Nothing refused was stored: created, muted, unmuted, bob's message, all muted, alice's message.
        Assert.Equal((4L, 6L), (fine.Seq, ownerSpeaks.Seq));
        var atBob = await bobClient.TakeAsync(6);
        Assert.Equal(Streams.Range(1, 6), atBob.Seqs());
        Assert.Equal(["created", "muted", "muted", "muted"], atBob.Where(m => m.Kind == MessageKind.GroupEvent).Select(m => m.Ext["event"]));
    }

    [Fact]
    public async Task GroupManagementChangesAreRoleCheckedAndArriveAsGroupEvents()
    {
        var alice = BrokerFixture.NewUser("alice");
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob);
        await using var carolClient = await fixture.ConnectAsync(carol);
        var groupId = "g-" + Guid.NewGuid().ToString("N")[..10];

        var created = await aliceClient.Groups.CreateAsync("first name", [bob], groupId);
        Assert.Equal(groupId, created.GroupId);
        var exists = await Assert.ThrowsAsync<MqttImRpcException>(() => bobClient.Groups.CreateAsync("again", [], groupId));
        Assert.Equal(("group/create", "already_exists"), (exists.Method, exists.Code));

        var notAdmin = await Assert.ThrowsAsync<MqttImRpcException>(() => bobClient.Groups.RenameAsync(groupId, "bob's"));
        Assert.Equal("not_authorized", notAdmin.Code);
        Assert.Equal("second name", (await aliceClient.Groups.RenameAsync(groupId, "second name")).Name);
        await aliceClient.Groups.SetRoleAsync(groupId, [bob], GroupRole.Admin);
        Assert.Equal(3, (await bobClient.Groups.AddMembersAsync(groupId, [carol])).MemberCount);

        var info = await carolClient.Groups.GetInfoAsync(groupId);
        Assert.Equal(
            new Dictionary<string, GroupRole> { [alice] = GroupRole.Owner, [bob] = GroupRole.Admin, [carol] = GroupRole.Member },
            info.Members.ToDictionary(m => m.UserId, m => m.Role));
        Assert.Equal(4, info.Members.Single(m => m.UserId == carol).JoinedSeq);

        Assert.Equal(2, (await carolClient.Groups.LeaveAsync(groupId)).MemberCount);
        var outsiderInfo = await Assert.ThrowsAsync<MqttImRpcException>(() => carolClient.Groups.GetInfoAsync(groupId));
        Assert.Equal("not_authorized", outsiderInfo.Code);
        Assert.Equal("not_found", (await Assert.ThrowsAsync<MqttImRpcException>(() => aliceClient.Groups.GetInfoAsync("no-such-group-y"))).Code);
        Assert.Equal("not_authorized", (await Assert.ThrowsAsync<MqttImRpcException>(() => bobClient.Groups.DissolveAsync(groupId))).Code);
        Assert.True((await aliceClient.Groups.DissolveAsync(groupId)).Dissolved);
        Assert.Equal("not_member", (await Assert.ThrowsAsync<MqttImSendException>(() => bobClient.SendToGroupAsync(groupId, "anyone?"))).Code);

        var events = await bobClient.TakeAsync(6);
        Assert.Equal(Streams.Range(1, 6), events.Seqs());
        Assert.All(events, m => Assert.Equal(MessageKind.GroupEvent, m.Kind));
        Assert.Equal(["created", "renamed", "role_changed", "members_added", "members_removed", "dissolved"], events.Select(m => m.Ext["event"]));
    }
}
