using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Broker.IntegrationTests.Devices;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// What a cluster adds to client ids and to the IoT hub, on three broker processes + Redis + PostgreSQL: a client id that
/// connects on another node closes its old connection (0x8E); commands issued on one node (HTTP or MQTT) reach a device
/// on another, and their states come back to the issuer and to watchers on a third; device presence is the same on every
/// node, also after the node that held the device is killed; a device disabled, rotated or deleted on one node is cut off
/// on the node that holds it and refused on every node.
/// </summary>
[Collection("Cluster")]
public sealed class ClusterIotTests(BrokerCluster cluster) : IClassFixture<BrokerCluster>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private BrokerProcess Node(int index) => cluster.Nodes[index];

    [Fact]
    public async Task ClientIdConnectingOnAnotherNode_TakesOver_OldConnectionGetsDisconnect0x8E()
    {
        var bob = TestUsers.Unique("tb");
        var alice = TestUsers.Unique("ta");
        var clientId = bob + "-phone";
        await using var alicePhone = await TestDevice.ConnectAsync(Node(1), alice);

        // A chat device (inbox routed through the directory) and a plain client (no inbox) are both taken over.
        foreach (var subscribeInbox in new[] { true, false })
        {
            var old = await TestDevice.ConnectAsync(Node(0), bob, clientId, subscribeInbox: subscribeInbox);
            var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
            old.Client.DisconnectedAsync += args =>
            {
                disconnected.TrySetResult(args);
                return Task.CompletedTask;
            };

            await using var replacement = await TestDevice.ConnectAsync(Node(2), bob, clientId, subscribeInbox: subscribeInbox);
            var args = await disconnected.Task.WaitAsync(Wait);
            Assert.Equal(MqttClientDisconnectReason.SessionTakenOver, args.Reason);
            Assert.True(replacement.Client.IsConnected);
            if (subscribeInbox)
            {
                // The inbox follows the client id to its new node.
                Assert.True((await alicePhone.SendAsync(bob, "to the new node", "tk1")).IsSuccess);
                Assert.Equal("to the new node", (await replacement.NextChatMessageAsync()).Text);
            }

            old.Client.Dispose();
        }
    }

    [Fact]
    public async Task HttpCommandOnNodeA_ToDeviceOnNodeB_IsDelivered_StatesReachTheIssuerAndAWatcherOnNodeC_PresenceSeenEverywhere()
    {
        var (deviceId, owner) = (TestUsers.Unique("truck"), TestUsers.Unique("ops"));
        var secret = await Node(0).RegisterAsync(deviceId, owner);
        await using var watcher = await Watcher.ConnectAsync(Node(2), owner, $"device/{deviceId}/commands/+", $"device/{deviceId}/state");
        Assert.False((await watcher.NextAsync(m => m.Topic.EndsWith("/state", StringComparison.Ordinal))).GetProperty("online").GetBoolean());

        var device = await IotDevice.ConnectAsync(Node(1), deviceId, secret);
        Assert.True((await watcher.NextAsync(m => m.Topic.EndsWith("/state", StringComparison.Ordinal))).GetProperty("online").GetBoolean());
        await WaitForOnlineAsync(Node(0), deviceId, true);

        // Issued on node A with a synchronous wait; the device on node B gets it and replies.
        using var http = Node(0).Http();
        var issue = http.PostJsonAsync($"/api/devices/{deviceId}/commands", new { name = "unlock", payload = new { door = 1 }, waitSeconds = 30 });
        var received = await device.NextAsync();
        var command = IotDevice.Json(received.ApplicationMessage);
        Assert.Equal("unlock", command.GetProperty("name").GetString());
        Assert.True((await device.ReplyAsync(received.ApplicationMessage, """{"status":"succeeded","result":{"unlocked":true}}""")).IsSuccess);

        var (status, final) = await issue;
        Assert.Equal(200, status);
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        Assert.Equal(["queued", "sent", "delivered", "succeeded"], IotTestKit.StatesOf(final));

        // The watcher on node C saw every state of that command, in order.
        var commandId = final.GetProperty("commandId").GetString()!;
        var states = new List<string>();
        while (states.LastOrDefault() != "succeeded")
        {
            var change = await watcher.NextAsync(m => m.Topic == $"device/{deviceId}/commands/{commandId}");
            states.Add(change.GetProperty("state").GetString()!);
        }

        Assert.Equal(["queued", "sent", "delivered", "succeeded"], states);

        await device.DisposeAsync();
        Assert.False((await watcher.NextAsync(m => m.Topic.EndsWith("/state", StringComparison.Ordinal))).GetProperty("online").GetBoolean());
        await WaitForOnlineAsync(Node(0), deviceId, false);
    }

    [Fact]
    public async Task MqttCommandByAnOwnerOnNodeC_ToDeviceOnNodeA_GetsItsIdInThePuback_AndEveryState_StrangersAreRefused()
    {
        var (deviceId, owner, stranger) = (TestUsers.Unique("lock"), TestUsers.Unique("own"), TestUsers.Unique("str"));
        var secret = await Node(1).RegisterAsync(deviceId, owner);
        await using var issuer = await Watcher.ConnectAsync(Node(2), owner, $"device/{deviceId}/commands/+");

        // Not connected yet: the command waits; a cancel over MQTT ends it.
        var queued = await issuer.PublishAsync($"device/{deviceId}/commands", """{"name":"reboot"}""");
        Assert.True(queued.IsSuccess, queued.ReasonString);
        var queuedId = queued.Property("commandId")!;
        Assert.Equal("queued", queued.Property("state"));
        Assert.True((await issuer.PublishAsync($"device/{deviceId}/commands/{queuedId}/cancel", "")).IsSuccess);
        Assert.Equal(["queued", "canceled"], await issuer.StatesAsync(deviceId, queuedId, "canceled"));

        var device = await IotDevice.ConnectAsync(Node(0), deviceId, secret);
        var sent = await issuer.PublishAsync($"device/{deviceId}/commands", """{"name":"unlock","payload":{"door":2},"timeoutSeconds":30}""");
        Assert.True(sent.IsSuccess, sent.ReasonString);
        var commandId = sent.Property("commandId")!;
        var received = await device.NextAsync();
        Assert.Equal(commandId, IotDevice.Json(received.ApplicationMessage).GetProperty("commandId").GetString());
        Assert.Equal(2, IotDevice.Json(received.ApplicationMessage).GetProperty("payload").GetProperty("door").GetInt32());
        Assert.True((await device.ReplyAsync(received.ApplicationMessage, """{"status":"failed","message":"jammed"}""")).IsSuccess);
        Assert.Equal(["queued", "sent", "delivered", "failed"], await issuer.StatesAsync(deviceId, commandId, "failed"));

        // The store agrees, read from the third node.
        var stored = await Node(1).CommandAsync(deviceId, commandId);
        Assert.Equal(("failed", owner), (stored.GetProperty("state").GetString(), stored.GetProperty("issuedBy").GetString()));

        // Same ACL as HTTP: a user who owns nothing is refused, and cannot watch the device's commands either.
        await using var strangerClient = await Watcher.ConnectAsync(Node(2), stranger);
        var refused = await strangerClient.PublishAsync($"device/{deviceId}/commands", """{"name":"unlock"}""");
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        var subscribe = await strangerClient.Client.SubscribeAsync($"device/{deviceId}/commands/+", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, subscribe.Items.Single().ResultCode);
        var invalid = await issuer.PublishAsync($"device/{deviceId}/commands", "not json");
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, invalid.ReasonCode);
        await device.DisposeAsync();
    }

    [Fact]
    public async Task NodeHoldingADevice_IsKilled_TheDeviceIsOfflineOnEveryOtherNode_AndOnlineAgainWhenItReconnectsElsewhere()
    {
        var (deviceId, owner) = (TestUsers.Unique("cam"), TestUsers.Unique("home"));
        var secret = await Node(0).RegisterAsync(deviceId, owner);
        await using var watcher = await Watcher.ConnectAsync(Node(0), owner, $"device/{deviceId}/state");
        Assert.False((await watcher.NextAsync(_ => true)).GetProperty("online").GetBoolean());
        var victim = Node(2);
        var device = await IotDevice.ConnectAsync(victim, deviceId, secret);
        Assert.True((await watcher.NextAsync(_ => true)).GetProperty("online").GetBoolean());
        await WaitForOnlineAsync(Node(1), deviceId, true);

        await victim.KillAsync();
        try
        {
            Assert.False((await watcher.NextAsync(_ => true, TimeSpan.FromSeconds(30))).GetProperty("online").GetBoolean());
            await WaitForOnlineAsync(Node(1), deviceId, false);
            device.Client.Dispose();

            // Back on another node: online everywhere again, and a command issued on a third node reaches it.
            await using var moved = await IotDevice.ConnectAsync(Node(1), deviceId, secret);
            Assert.True((await watcher.NextAsync(_ => true)).GetProperty("online").GetBoolean());
            var issued = await Node(0).IssueAsync(deviceId, new { name = "snapshot" });
            var received = await moved.NextAsync();
            Assert.Equal(issued.GetProperty("commandId").GetString(), IotDevice.Json(received.ApplicationMessage).GetProperty("commandId").GetString());

            // The shared presence hash keeps nothing the dead node reported: its devices' entries were pruned by the
            // survivor that cleaned up after it, and this device's entry is its new node's.
            await WaitForPresenceEntriesAsync(entries => !entries.Any(e => e.Value.StartsWith("node-2|", StringComparison.Ordinal))
                && entries.TryGetValue(deviceId, out var entry) && entry.StartsWith("node-1|1|", StringComparison.Ordinal));
        }
        finally
        {
            await victim.RestartAsync();
            await cluster.WaitForNodesAsync(3, TimeSpan.FromSeconds(60));
        }
    }

    [Fact]
    public async Task DeletedDevice_LeavesTheSharedPresenceHash_AndIsForgottenOnEveryNode()
    {
        var (deviceId, owner) = (TestUsers.Unique("gone"), TestUsers.Unique("own"));
        var secret = await Node(0).RegisterAsync(deviceId, owner);
        var device = await IotDevice.ConnectAsync(Node(1), deviceId, secret);
        await WaitForOnlineAsync(Node(2), deviceId, true);
        await WaitForPresenceEntriesAsync(entries => entries.ContainsKey(deviceId));

        // Deleted through node A while connected to node B: B closes the connection, and no node keeps its presence.
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        device.Client.DisconnectedAsync += _ =>
        {
            disconnected.TrySetResult();
            return Task.CompletedTask;
        };
        using (var http = Node(0).Http())
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.DeleteAsync($"/api/admin/devices/{deviceId}")).StatusCode);
        }

        await disconnected.Task.WaitAsync(Wait);
        await WaitForPresenceEntriesAsync(entries => !entries.ContainsKey(deviceId));
        await device.DisposeAsync();
        await AssertRefusedEverywhereAsync(deviceId, secret);
        using var admin = Node(2).Http();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await admin.GetAsync($"/api/admin/devices/{deviceId}")).StatusCode);
    }

    [Fact]
    public async Task DeviceDisabledOrRotatedOverNodeA_WhileOnNodeB_IsClosedThere_AndItsOldCredentialsAreRefusedOnEveryNode()
    {
        var (deviceId, owner) = (TestUsers.Unique("pump"), TestUsers.Unique("own"));
        var secret = await Node(0).RegisterAsync(deviceId, owner);
        using var http = Node(0).Http();

        // Disabled through node A while connected to node B: B closes it (0x87, as a single node does), no node lets it back.
        var device = await IotDevice.ConnectAsync(Node(1), deviceId, secret, MqttProtocolVersion.V500);
        var disabled = await NextDisconnectAsync(device, () => http.PostJsonAsync($"/api/admin/devices/{deviceId}/disable", null));
        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, disabled.Reason);
        Assert.Equal("the device was disabled", disabled.ReasonString);
        await device.DisposeAsync();
        await AssertRefusedEverywhereAsync(deviceId, secret);

        // Enabled again, connected to node C, secret rotated through node A: C closes it, the old secret works nowhere.
        Assert.Equal(200, (await http.PostJsonAsync($"/api/admin/devices/{deviceId}/enable", null)).Status);
        device = await IotDevice.ConnectAsync(Node(2), deviceId, secret, MqttProtocolVersion.V500);
        string? newSecret = null;
        var rotated = await NextDisconnectAsync(device, async () => newSecret = (await http.PostJsonAsync($"/api/admin/devices/{deviceId}/secret", null)).Body.GetProperty("secret").GetString());
        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, rotated.Reason);
        Assert.Equal("the device secret was rotated", rotated.ReasonString);
        await device.DisposeAsync();
        await AssertRefusedEverywhereAsync(deviceId, secret);
        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Node(1), deviceId, newSecret!, MqttProtocolVersion.V500));
    }

    /// <summary>Runs <paramref name="adminCall"/> and returns how the device's connection was then closed.</summary>
    private static async Task<MqttClientDisconnectedEventArgs> NextDisconnectAsync(IotDevice device, Func<Task> adminCall)
    {
        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        device.Client.DisconnectedAsync += args =>
        {
            disconnected.TrySetResult(args);
            return Task.CompletedTask;
        };
        await adminCall();
        return await disconnected.Task.WaitAsync(Wait);
    }

    private async Task AssertRefusedEverywhereAsync(string deviceId, string secret)
    {
        foreach (var node in cluster.Nodes)
        {
            Assert.NotEqual(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(node, deviceId, secret, MqttProtocolVersion.V500));
        }
    }

    /// <summary>Polls the cluster's device presence hash (written by the nodes, asynchronously) until <paramref name="done"/> holds.</summary>
    private async Task WaitForPresenceEntriesAsync(Func<Dictionary<string, string>, bool> done)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.Redis.Configuration);
        var deadline = DateTime.UtcNow + Wait;
        Dictionary<string, string> entries;
        do
        {
            entries = (await redis.GetDatabase().HashGetAllAsync("mqttim:device-states")).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
            if (done(entries))
            {
                return;
            }

            await Task.Delay(50); // other processes write the hash: no event to wait on here
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"the presence hash kept {string.Join(", ", entries.Select(e => e.Key + "=" + e.Value))}");
    }

    /// <summary>Polls a node's device view (other nodes' changes arrive over Redis, asynchronously).</summary>
    private static async Task WaitForOnlineAsync(BrokerProcess node, string deviceId, bool online)
    {
        using var http = node.Http();
        var deadline = DateTime.UtcNow + Wait;
        JsonElement view;
        do
        {
            view = await http.GetJsonAsync($"/api/admin/devices/{deviceId}");
            if (view.GetProperty("online").GetBoolean() == online)
            {
                return;
            }

            await Task.Delay(50); // another process's state: no event to wait on here
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"node {node.HttpPort} kept showing {view} (wanted online={online})");
    }

    /// <summary>A user's MQTT 5 connection watching device topics (JSON payloads), also used to issue commands.</summary>
    private sealed class Watcher : IAsyncDisposable
    {
        private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();

        private Watcher(IMqttClient client) => Client = client;

        public IMqttClient Client { get; }

        public static async Task<Watcher> ConnectAsync(BrokerProcess node, string userId, params string[] filters)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var watcher = new Watcher(client);
            client.ApplicationMessageReceivedAsync += args =>
            {
                watcher._received.Writer.TryWrite(args.ApplicationMessage);
                return Task.CompletedTask;
            };
            await client.ConnectAsync(TestDevice.Options(node, userId, node.Token(userId), $"{userId}-w{Guid.NewGuid():N}"[..40]).Build());
            foreach (var filter in filters)
            {
                var granted = await client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
                Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, granted.Items.Single().ResultCode);
            }

            return watcher;
        }

        public Task<MqttClientPublishResult> PublishAsync(string topic, string json) =>
            Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(json).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        /// <summary>The next received JSON payload whose message matches, skipping others.</summary>
        public async Task<JsonElement> NextAsync(Func<MqttApplicationMessage, bool> match, TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? Wait);
            try
            {
                while (true)
                {
                    var message = await _received.Reader.ReadAsync(cts.Token);
                    if (match(message))
                    {
                        return JsonDocument.Parse(Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(message.Payload))).RootElement.Clone();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("the watcher did not receive the expected message in time");
            }
        }

        /// <summary>The states the command went through, as its events arrive, up to <paramref name="last"/>.</summary>
        public async Task<List<string>> StatesAsync(string deviceId, string commandId, string last)
        {
            var states = new List<string>();
            while (states.LastOrDefault() != last)
            {
                states.Add((await NextAsync(m => m.Topic == $"device/{deviceId}/commands/{commandId}")).GetProperty("state").GetString()!);
            }

            return states;
        }

        public async ValueTask DisposeAsync()
        {
            if (Client.IsConnected)
            {
                await Client.DisconnectAsync();
            }

            Client.Dispose();
        }
    }
}
