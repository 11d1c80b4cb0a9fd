using System.Text;
using MQTTnet;
using System.Net.Http.Json;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>The cluster classes each start 3 brokers + Redis + PostgreSQL: never two of them at once on this machine.</summary>
[CollectionDefinition("Cluster", DisableParallelization = true)]
public sealed class ClusterCollection;

/// <summary>
/// Three broker processes on one Redis and one PostgreSQL, users spread over the nodes: 1:1 and group chat across
/// nodes, sync and history from any node, the entry endpoint, and a device that reconnects through another node.
/// </summary>
public abstract class ClusterChatContract(BrokerCluster cluster)
{
    private BrokerProcess Node(int index) => cluster.Nodes[index];

    [Fact]
    public async Task OneToOne_UsersOnDifferentNodes_ChatLive_AndSyncAndHistoryWorkFromAnyNode()
    {
        var (alice, bob) = (TestUsers.Unique("ca"), TestUsers.Unique("cb"));
        await using var alicePhone = await TestDevice.ConnectAsync(Node(0), alice);
        await using var aliceDesk = await TestDevice.ConnectAsync(Node(1), alice);
        await using var bobPhone = await TestDevice.ConnectAsync(Node(2), bob);
        await using var bobDesk = await TestDevice.ConnectAsync(Node(1), bob);

        // Presence across nodes: node A sees Bob's devices on nodes B and C.
        using (var http = Node(0).Http())
        {
            var presence = await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/presence?userIds={bob}");
            var bobState = presence[0];
            Assert.True(bobState.GetProperty("online").GetBoolean());
            Assert.Equal(new[] { bobDesk.ClientId, bobPhone.ClientId }.Order(StringComparer.Ordinal),
                bobState.GetProperty("devices").EnumerateArray().Select(d => d.GetString()!));
        }

        for (var i = 1; i <= 5; i++)
        {
            var sent = await alicePhone.SendAsync(bob, $"hi {i}", $"cm-{i}");
            Assert.True(sent.IsSuccess, sent.ReasonString);
            Assert.Equal(i.ToString(), sent.Property("seq"));
        }

        // A device on node C gets what was sent on node A; the sender's other device on node B gets its copy.
        foreach (var device in new[] { bobPhone, bobDesk, aliceDesk })
        {
            var received = new List<long>();
            for (var i = 0; i < 5; i++)
            {
                received.Add((await device.NextChatMessageAsync()).Seq);
            }

            Assert.Equal([1L, 2L, 3L, 4L, 5L], received);
        }

        // The reply goes the other way, from node C to node A.
        var reply = await bobPhone.SendAsync(alice, "hello back", "cm-back");
        Assert.Equal("6", reply.Property("seq"));
        var back = await alicePhone.NextChatMessageAsync();
        Assert.Equal(("hello back", 6L), (back.Text, back.Seq));

        var conversation = TestUsers.C2c(alice, bob);
        for (var n = 0; n < 3; n++)
        {
            await using var late = await TestDevice.ConnectAsync(Node(n), bob);
            var synced = await late.SyncAllAsync();
            Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], synced[conversation].Select(m => m.Seq));

            var history = await late.RpcAsync("history", new HistoryRequest { RequestId = $"h{n}", ConversationId = conversation, Limit = 3 }, $"h{n}");
            Assert.Equal([4L, 5L, 6L], history.History.Messages.Select(m => m.Seq));
        }
    }

    /// <summary>
    /// A cluster node answers a resend from the store's append (no lookup round trip first): the resend gets the original's
    /// seq and is stored once, and the seq it used up is reported by sync as skipped, so no device waits for it.
    /// </summary>
    [Fact]
    public async Task Resend_OnTheSameAndAnotherNode_GetsTheOriginalSeq_IsStoredOnce_AndItsUnusedSeqIsReportedSkipped()
    {
        var (alice, bob) = (TestUsers.Unique("ra"), TestUsers.Unique("rb"));
        await using var alicePhone = await TestDevice.ConnectAsync(Node(0), alice);
        await using var aliceDesk = await TestDevice.ConnectAsync(Node(2), alice);
        await using var bobPhone = await TestDevice.ConnectAsync(Node(1), bob);

        var first = await alicePhone.SendAsync(bob, "once", "rs-1");
        Assert.Equal(("1", "false"), (first.Property("seq"), first.Property("duplicate")));
        foreach (var resender in new[] { alicePhone, aliceDesk })
        {
            var again = await resender.SendAsync(bob, "once", "rs-1");
            Assert.True(again.IsSuccess, again.ReasonString);
            Assert.Equal(("1", "true"), (again.Property("seq"), again.Property("duplicate")));
        }

        var next = await alicePhone.SendAsync(bob, "twice", "rs-2");
        var nextSeq = long.Parse(next.Property("seq")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(nextSeq > 1, $"seq {nextSeq} went back");
        Assert.Equal(1, (await bobPhone.NextChatMessageAsync()).Seq);
        Assert.Equal(nextSeq, (await bobPhone.NextChatMessageAsync()).Seq);

        // One stored copy each; every seq between them is reported skipped once the gap grace has passed.
        var conversation = TestUsers.C2c(alice, bob);
        ConversationSync sync = null!;
        await Poll.UntilAsync(async () =>
        {
            // A hole is reported once it is older than Cluster:SeqGapGrace: the broker's own clock, nothing to await.
            var request = new SyncRequest { RequestId = Guid.NewGuid().ToString("N"), ConversationIds = { conversation }, Limit = 50 };
            request.Cursors[conversation] = 0;
            sync = Assert.Single((await bobPhone.RpcAsync("sync", request, request.RequestId)).Sync.Conversations);
            return sync.SkippedSeqs.Count == nextSeq - 2;
        }, $"sync reports the {nextSeq - 2} unused seqs as skipped", TimeSpan.FromSeconds(20));

        Assert.Equal([1L, nextSeq], sync.Messages.Select(m => m.Seq));
        Assert.Equal(["rs-1", "rs-2"], sync.Messages.Select(m => m.ClientMsgId));
        Assert.Equal(Enumerable.Range(2, (int)nextSeq - 2).Select(i => (long)i), sync.SkippedSeqs.Order());
    }

    /// <summary>
    /// MQTTnet 5.2 runs the unsubscription interceptor inside a thread-affine lock of the session's subscriptions: an
    /// interceptor that completed on another thread (after a Redis round trip) would leave that lock held and block every
    /// later delivery to the session. The inbox unsubscribe must finish inside the interceptor without awaiting Redis.
    /// </summary>
    [Fact]
    public async Task InboxUnsubscribe_InACluster_KeepsTheSessionsOtherSubscriptionDelivering_AndAResubscribeGetsMessagesFromAnotherNode()
    {
        var (alice, bob, feed) = (TestUsers.Unique("ua"), TestUsers.Unique("ub"), TestUsers.Unique("uf"));
        await using var alicePhone = await TestDevice.ConnectAsync(Node(0), alice);
        await using var bobPhone = await TestDevice.ConnectAsync(Node(1), bob);
        await using var publisher = await TestDevice.ConnectAsync(Node(0), feed, subscribeInbox: false);
        var topic = $"plain/{alice}/news";
        var subscribed = await alicePhone.Client.SubscribeAsync(topic, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, subscribed.Items.Single().ResultCode);

        Assert.True((await bobPhone.SendAsync(alice, "before", "un-1")).IsSuccess);
        Assert.Equal("before", (await alicePhone.NextChatMessageAsync(TimeSpan.FromSeconds(20))).Text);

        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            var unsubscribed = await alicePhone.Client.UnsubscribeAsync(new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter($"inbox/{alice}").Build(), timeout.Token);
            Assert.Equal(MqttClientUnsubscribeResultCode.Success, unsubscribed.Items.Single().ResultCode);
        }

        // The session's other subscription still delivers after the inbox unsubscribe (twice: not just one lucky message).
        for (var i = 0; i < 2; i++)
        {
            Assert.True((await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"news {i}"))).IsSuccess);
            var news = await alicePhone.NextAsync(TimeSpan.FromSeconds(20));
            Assert.Equal((topic, $"news {i}"), (news.Topic, Encoding.UTF8.GetString(news.Payload)));
        }

        // Unsubscribed: stored, not delivered live. Subscribed again: the next message from node B arrives live.
        Assert.True((await bobPhone.SendAsync(alice, "while away", "un-2")).IsSuccess);
        var again = await alicePhone.Client.SubscribeAsync($"inbox/{alice}", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, again.Items.Single().ResultCode);
        Assert.True((await bobPhone.SendAsync(alice, "back", "un-3")).IsSuccess);
        var back = await alicePhone.NextChatMessageAsync(TimeSpan.FromSeconds(20));
        if (back.Seq == 2)
        {
            // Its PUBACK comes before its fan-out: the live copy of "while away" may reach the inbox subscribed again.
            back = await alicePhone.NextChatMessageAsync(TimeSpan.FromSeconds(20));
        }

        Assert.Equal(("back", 3L), (back.Text, back.Seq));
    }

    [Fact]
    public async Task Group_MembersOnThreeNodes_AllReceive_AndAMemberAddedOnAnotherNodeCanSendAtOnce()
    {
        var (alice, bob, carol, dave) = (TestUsers.Unique("ga"), TestUsers.Unique("gb"), TestUsers.Unique("gc"), TestUsers.Unique("gd"));
        await using var a = await TestDevice.ConnectAsync(Node(0), alice);
        await using var b = await TestDevice.ConnectAsync(Node(1), bob);
        await using var c = await TestDevice.ConnectAsync(Node(2), carol);
        await using var d = await TestDevice.ConnectAsync(Node(1), dave);

        var create = new GroupRequest { RequestId = "create", Name = "cluster team", UserIds = { bob, carol } };
        var created = await a.RpcAsync("group/create", create, create.RequestId);
        Assert.Equal(RpcResponse.ResultOneofCase.Group, created.ResultCase);
        var groupId = created.Group.GroupId;

        // Carol sends on node C; Alice (node A) and Bob (node B) receive it. Bob's node caches the group now.
        var fromCarol = await c.PublishAsync($"im/group/{groupId}", c.Encode(new SendRequest { Text = "from C", ClientMsgId = "g1" }));
        Assert.True(fromCarol.IsSuccess, fromCarol.ReasonString);
        Assert.Equal("from C", (await NextNormalAsync(a)).Text);
        Assert.Equal("from C", (await NextNormalAsync(b)).Text);
        var fromBob = await b.PublishAsync($"im/group/{groupId}", b.Encode(new SendRequest { Text = "from B", ClientMsgId = "g2" }));
        Assert.True(fromBob.IsSuccess, fromBob.ReasonString);
        Assert.Equal("from B", (await NextNormalAsync(c)).Text);

        // Alice adds Dave on node A; node B dropped its cached member list, so Dave may send there.
        var add = new GroupRequest { RequestId = "add", GroupId = groupId, UserIds = { dave } };
        Assert.Equal(RpcResponse.ResultOneofCase.Group, (await a.RpcAsync("group/add_members", add, add.RequestId)).ResultCase);
        var fromDave = await SendUntilAcceptedAsync(d, $"im/group/{groupId}", new SendRequest { Text = "from D", ClientMsgId = "g3" });
        Assert.True(fromDave.IsSuccess, fromDave.ReasonString);
        foreach (var member in new[] { a, c })
        {
            Assert.Equal("from D", (await NextNormalAsync(member)).Text);
        }

        // The group's seqs are one sequence whichever node stored them.
        await using var late = await TestDevice.ConnectAsync(Node(2), alice);
        var history = (await late.SyncAllAsync())[$"group:{groupId}"];
        Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(m => m.Seq));
        Assert.Equal(["from C", "from B", "from D"], history.Where(m => m.Kind == MessageKind.Normal).Select(m => m.Text));
    }

    [Fact]
    public async Task Entry_HandsOutTheLeastLoadedNode_AndAReconnectThroughAnotherNodeMovesTheInbox()
    {
        var bob = TestUsers.Unique("eb");
        var alice = TestUsers.Unique("ea");
        var load = new List<TestDevice>();
        try
        {
            // Nodes A and B carry connections; C carries none of this test's.
            for (var i = 0; i < 4; i++)
            {
                load.Add(await TestDevice.ConnectAsync(Node(0), TestUsers.Unique("load"), subscribeInbox: false));
                load.Add(await TestDevice.ConnectAsync(Node(1), TestUsers.Unique("load"), subscribeInbox: false));
            }

            var entry = await PollEntryAsync(e => e.MqttPort == Node(2).MqttPort, TimeSpan.FromSeconds(10));
            Assert.Equal(("node-2", "127.0.0.1"), (entry.NodeId, entry.Host));
            Assert.Equal($"ws://127.0.0.1:{Node(2).HttpPort}/mqtt", entry.WsUrl);

            await using var alicePhone = await TestDevice.ConnectAsync(Node(0), alice);
            var clientId = bob + "-phone";
            var first = await TestDevice.ConnectAsync(Node(1), bob, clientId);
            Assert.True((await alicePhone.SendAsync(bob, "to node B", "e1")).IsSuccess);
            Assert.Equal("to node B", (await first.NextChatMessageAsync()).Text);
            await first.DisposeAsync();

            // The same device comes back through the node the entry endpoint named.
            await using var moved = await TestDevice.ConnectAsync(cluster.NodeByMqttPort(entry.MqttPort), bob, clientId);
            Assert.True((await alicePhone.SendAsync(bob, "to node C", "e2")).IsSuccess);
            var arrived = await moved.NextChatMessageAsync();
            Assert.Equal(("to node C", 2L), (arrived.Text, arrived.Seq));
        }
        finally
        {
            foreach (var device in load)
            {
                await device.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Presence_DevicesOnTwoNodes_WatchersOnAnyNodeSeeTheClusterWideState_OfflineOnlyWhenTheLastDeviceLeaves()
    {
        var (alice, bob) = (TestUsers.Unique("pa"), TestUsers.Unique("pb"));
        // A group both are in lets Alice watch Bob under the default watch policy.
        await Node(2).AdminPostAsync("/api/admin/groups", new { groupId = TestUsers.Unique("pg"), name = "watch", ownerId = alice, memberIds = new[] { bob } });
        var bobOnA = await TestDevice.ConnectAsync(Node(0), bob);
        var bobOnB = await TestDevice.ConnectAsync(Node(1), bob);
        await using var aliceOnC = await TestDevice.ConnectAsync(Node(2), alice);
        try
        {
            // Bob's own device on node A watches him and sees the device ids, the one on node B included.
            await SubscribePresenceAsync(bobOnA, bob);
            string[] both = [.. new[] { bobOnA.ClientId, bobOnB.ClientId }.Order(StringComparer.Ordinal)];
            await NextPresenceAsync(bobOnA, bob, s => s.Online && s.Devices.SequenceEqual(both));

            // Alice on node C, where Bob has no device, is handed "online" at once (retained, no device ids for her).
            await SubscribePresenceAsync(aliceOnC, bob);
            var retained = await NextPresenceAsync(aliceOnC, bob, _ => true);
            Assert.True(retained.Online);
            Assert.Empty(retained.Devices);

            // Bob's device on node B leaves: node A's watcher sees one device fewer, and Bob stays online.
            await bobOnB.DisposeAsync();
            var afterB = await NextPresenceAsync(bobOnA, bob, s => !s.Devices.Contains(bobOnB.ClientId));
            Assert.True(afterB.Online);
            Assert.Equal([bobOnA.ClientId], afterB.Devices);
            var heardByAlice = await aliceOnC.ReceivedBeforeChatMarkerAsync(bobOnA);
            Assert.DoesNotContain(heardByAlice, m => m.Topic == $"presence/{bob}");

            // The last device leaves (node A): now Alice on node C hears "offline".
            await bobOnA.DisposeAsync();
            var offline = await NextPresenceAsync(aliceOnC, bob, _ => true);
            Assert.False(offline.Online);
        }
        finally
        {
            await bobOnA.DisposeAsync();
            await bobOnB.DisposeAsync();
        }
    }

    private static async Task SubscribePresenceAsync(TestDevice watcher, string userId)
    {
        var sub = await watcher.Client.SubscribeAsync($"presence/{userId}", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MQTTnet.MqttClientSubscribeResultCode.GrantedQoS1, sub.Items.Single().ResultCode);
    }

    /// <summary>The next presence state of the user that matches, skipping every other message, within a generous deadline.</summary>
    private static async Task<PresenceState> NextPresenceAsync(TestDevice watcher, string userId, Func<PresenceState, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{watcher.ClientId}: no matching presence of {userId} in time");
            }

            var message = await watcher.NextAsync(left);
            if (message.Topic == $"presence/{userId}" && TestDevice.Decode(PresenceState.Parser, message) is var state && match(state))
            {
                return state;
            }
        }
    }

    private async Task<EntryAnswer> PollEntryAsync(Func<EntryAnswer, bool> wanted, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        EntryAnswer last;
        do
        {
            last = await cluster.EntryAsync();
            if (wanted(last))
            {
                return last;
            }

            await Task.Delay(100); // the load figures move with the nodes' heartbeats
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"the entry endpoint kept answering {last}");
        return last;
    }

    private static async Task<ChatMessage> NextNormalAsync(TestDevice device)
    {
        while (true)
        {
            var message = await device.NextChatMessageAsync();
            if (message.Kind == MessageKind.Normal)
            {
                return message;
            }
        }
    }

    /// <summary>The membership change reaches other nodes' caches asynchronously (pub/sub): retried for a bounded time.</summary>
    private static async Task<MQTTnet.MqttClientPublishResult> SendUntilAcceptedAsync(TestDevice device, string topic, SendRequest request)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var result = await device.PublishAsync(topic, device.Encode(request));
            if (result.IsSuccess || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(50);
        }
    }
}

[Collection("Cluster")]
public sealed class ClusterChatTests(BrokerCluster cluster) : ClusterChatContract(cluster), IClassFixture<BrokerCluster>;

/// <summary>The same on MongoDB (runs when MONGODB_URI is set).</summary>
[Collection("Cluster")]
[Trait("Category", "MongoDB")]
public sealed class MongoClusterChatTests(MongoBrokerCluster cluster) : ClusterChatContract(cluster), IClassFixture<MongoBrokerCluster>;
