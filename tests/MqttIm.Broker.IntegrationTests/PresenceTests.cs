using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Retained presence on <c>presence/{userId}</c>: who may watch, online/offline on connect, disconnect and keep-alive timeout, and the HTTP query.</summary>
public sealed class PresenceTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    public static TheoryData<MqttProtocolVersion> Versions => new() { MqttProtocolVersion.V311, MqttProtocolVersion.V500 };

    /// <summary>Watcher and target share a group (a relation both made), so the default watch policy lets the watcher in.</summary>
    private static async Task<TestDevice> WatcherOfAsync(BrokerProcess broker, string watcher, string target)
    {
        await broker.AdminPostAsync("/api/admin/groups", new { groupId = TestUsers.Unique("pg"), name = "watch", ownerId = watcher, memberIds = new[] { target } });
        var device = await TestDevice.ConnectAsync(broker, watcher);
        var sub = await device.Client.SubscribeAsync($"presence/{target}", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, sub.Items.Single().ResultCode);
        return device;
    }

    /// <summary>The next presence message about the user that matches, skipping everything else, within the timeout.</summary>
    private static async Task<(PresenceState State, MqttApplicationMessage Message)> NextPresenceAsync(
        TestDevice watcher, string userId, Func<PresenceState, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{watcher.ClientId}: no matching presence of {userId} in time");
            }

            var message = await watcher.NextAsync(left);
            if (message.Topic != $"presence/{userId}")
            {
                continue;
            }

            var state = TestDevice.Decode(PresenceState.Parser, message);
            if (match(state))
            {
                return (state, message);
            }
        }
    }

    [Fact]
    public async Task AllowedWatcher_SeesRetainedOnline_ThenOfflineAfterCleanDisconnect()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        var bobPhone = await TestDevice.ConnectAsync(_broker, bob, clientId: bob + "-phone");
        await using var bobDesk = await TestDevice.ConnectAsync(_broker, bob, clientId: bob + "-desk", version: MqttProtocolVersion.V311);

        await using var watcher = await WatcherOfAsync(_broker, alice, bob);

        var (online, message) = await NextPresenceAsync(watcher, bob, s => s.Online);
        Assert.True(message.Retain, "the state present before subscribing arrives as a retained message");
        Assert.Equal("application/json", message.ContentType);
        Assert.Empty(online.Devices); // device ids are for bob's own devices only
        Assert.Equal(bob, online.UserId);

        // One device less is no change for others; the last one leaving is.
        await bobPhone.DisposeAsync();
        await bobDesk.Client.DisconnectAsync();
        var offline = (await NextPresenceAsync(watcher, bob, _ => true)).State;
        Assert.False(offline.Online);
        Assert.Empty(offline.Devices);
        Assert.True(offline.ChangedMs >= online.ChangedMs && offline.ChangedMs > 0);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task OneUnansweredMessage_DoesNotLetTheSenderWatch_AReplyDoes(MqttProtocolVersion version)
    {
        var (alice, mallory) = (TestUsers.Unique("alice"), TestUsers.Unique("mallory"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice, clientId: alice + "-phone");
        await using var m = await TestDevice.ConnectAsync(_broker, mallory, version: version);
        Assert.Equal(MqttClientPublishReasonCode.Success, (await m.SendAsync(alice, "hi, remember me?")).ReasonCode);
        await a.NextChatMessageAsync(); // stored and delivered: the conversation exists

        var refused = await m.Client.SubscribeAsync($"presence/{alice}", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.True(refused.Items.Single().ResultCode is MqttClientSubscribeResultCode.NotAuthorized or MqttClientSubscribeResultCode.UnspecifiedError,
            refused.Items.Single().ResultCode.ToString());
        var refusedBack = await a.Client.SubscribeAsync($"presence/{mallory}", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, refusedBack.Items.Single().ResultCode);

        // Alice answers: now both wrote, and each may watch the other (without seeing device ids).
        Assert.Equal(MqttClientPublishReasonCode.Success, (await a.SendAsync(mallory, "who are you?")).ReasonCode);
        await m.NextChatMessageAsync();
        var granted = await PollSubscribeAsync(m, $"presence/{alice}");
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, granted);
        var state = (await NextPresenceAsync(m, alice, s => s.Online)).State;
        Assert.Empty(state.Devices);
    }

    /// <summary>The writer is recorded just after delivery: retries the subscription until granted (bounded).</summary>
    private static async Task<MqttClientSubscribeResultCode> PollSubscribeAsync(TestDevice device, string filter)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var code = (await device.Client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode;
            if (code == MqttClientSubscribeResultCode.GrantedQoS1 || DateTime.UtcNow > deadline)
            {
                return code;
            }
        }
    }

    [Fact]
    public async Task UserMayWatchThemselves_WithoutAConversation()
    {
        var carol = TestUsers.Unique("carol");
        await using var watcher = await TestDevice.ConnectAsync(_broker, carol, clientId: carol + "-a");
        var sub = await watcher.Client.SubscribeAsync($"presence/{carol}", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, sub.Items.Single().ResultCode);

        await using var second = await TestDevice.ConnectAsync(_broker, carol, clientId: carol + "-b");

        var state = (await NextPresenceAsync(watcher, carol, s => s.Devices.Count == 2)).State;
        Assert.Equal(new[] { carol + "-a", carol + "-b" }, state.Devices);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Stranger_AndWildcardFilters_AreRefused(MqttProtocolVersion version)
    {
        var (bob, mallory) = (TestUsers.Unique("bob"), TestUsers.Unique("mallory"));
        await using var b = await TestDevice.ConnectAsync(_broker, bob);
        await using var m = await TestDevice.ConnectAsync(_broker, mallory, version: version, subscribeInbox: false);
        var expected = version == MqttProtocolVersion.V500 ? MqttClientSubscribeResultCode.NotAuthorized : MqttClientSubscribeResultCode.UnspecifiedError;

        foreach (var filter in new[] { $"presence/{bob}", "presence/+", "presence/#", $"presence/{bob}/x" })
        {
            var result = await m.Client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.True(expected == result.Items.Single().ResultCode, $"{filter}: {result.Items.Single().ResultCode}");
            if (version == MqttProtocolVersion.V500)
            {
                Assert.False(string.IsNullOrEmpty(result.ReasonString), filter);
            }
        }

        Assert.True(m.Client.IsConnected);
    }

    [Fact]
    public async Task WildcardSubscriber_GetsNoLivePresenceUpdates()
    {
        var (bob, mallory) = (TestUsers.Unique("bob"), TestUsers.Unique("mallory"));
        await using var m = await TestDevice.ConnectAsync(_broker, mallory, subscribeInbox: false);
        await m.Client.SubscribeAsync(new MqttTopicFilterBuilder().WithTopic("+/" + bob).WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe).Build());
        await m.Client.SubscribeAsync(new MqttTopicFilterBuilder().WithTopic("#").WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe).Build());

        // Bob himself watches, so we know when his presence has been published.
        await using var b = await TestDevice.ConnectAsync(_broker, bob, clientId: bob + "-1");
        await b.Client.SubscribeAsync($"presence/{bob}", MqttQualityOfServiceLevel.AtLeastOnce);
        await NextPresenceAsync(b, bob, s => s.Online);
        await using (await TestDevice.ConnectAsync(_broker, bob, clientId: bob + "-2"))
        {
            await NextPresenceAsync(b, bob, s => s.Devices.Count == 2);
        }

        await NextPresenceAsync(b, bob, s => s.Devices.Count == 1);
        // Everything the wildcards saw up to mallory's own marker, not only the first message.
        var marker = $"{mallory}/marker";
        var seen = await m.ReceivedBeforeAsync(() => m.PublishAsync(marker, [1]), message => message.Topic == marker);
        Assert.DoesNotContain(seen, message => message.Topic.StartsWith("presence/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WildcardSubscriber_GetsRetainedPlainTopics_ButNoRetainedPresence()
    {
        var (bob, mallory) = (TestUsers.Unique("bob"), TestUsers.Unique("mallory"));
        await using var b = await TestDevice.ConnectAsync(_broker, bob, clientId: bob + "-1");
        await b.Client.SubscribeAsync($"presence/{bob}", MqttQualityOfServiceLevel.AtLeastOnce);
        await NextPresenceAsync(b, bob, s => s.Online);
        var plainTopic = $"{mallory}/retained";
        await b.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(plainTopic).WithPayload("kept"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build());

        await using var m = await TestDevice.ConnectAsync(_broker, mallory, subscribeInbox: false);
        await m.Client.SubscribeAsync("#", MqttQualityOfServiceLevel.AtLeastOnce);
        await m.Client.SubscribeAsync("+/" + bob, MqttQualityOfServiceLevel.AtLeastOnce);

        // Retained messages arrive in store order: read until the plain one, then a little longer; no presence among them.
        var seen = new List<string>();
        for (var message = await m.NextAsync(); ; message = await m.NextAsync())
        {
            seen.Add(message.Topic);
            if (message.Topic == plainTopic)
            {
                Assert.True(message.Retain);
                break;
            }
        }

        // Retained messages are queued when the subscription is made, so a plain marker published after comes after them all.
        var marker = $"{mallory}/marker";
        seen.AddRange((await m.ReceivedBeforeAsync(() => m.PublishAsync(marker, [1]), message => message.Topic == marker)).Select(message => message.Topic));

        Assert.DoesNotContain(seen, t => t.StartsWith("presence/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SilentClient_IsReportedOffline_AfterItsKeepAliveRunsOut()
    {
        var (alice, dave) = (TestUsers.Unique("alice"), TestUsers.Unique("dave"));
        using var silent = await RawConnectAsync(dave, _broker.Token(dave), dave + "-raw", keepAliveSeconds: 1);
        await using var watcher = await WatcherOfAsync(_broker, alice, dave);
        await NextPresenceAsync(watcher, dave, s => s.Online);

        // The socket stays open but sends nothing: MQTTnet drops it after 1.5 × keep-alive (no clock assert: the
        // generous wait below is a deadline, and without enforcement the silent client would never go offline).
        var offline = (await NextPresenceAsync(watcher, dave, s => !s.Online, TimeSpan.FromSeconds(20))).State;

        Assert.Empty(offline.Devices);
        // The broker ended it, not the client: the silent socket is closed from the broker's side (read 0, bounded).
        using var closed = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[256];
        var read = -1;
        for (var reads = 0; reads < 100 && read != 0; reads++)
        {
            try
            {
                read = await silent.ReceiveAsync(buffer, SocketFlags.None, closed.Token);
            }
            catch (SocketException)
            {
                read = 0; // reset by the broker: closed from its side too
            }
        }

        Assert.Equal(0, read);
    }

    [Fact]
    public async Task HttpQuery_ReportsOnlineAndOffline_AndNeedsTheAdminKey()
    {
        var (on, off, never) = (TestUsers.Unique("on"), TestUsers.Unique("off"), TestUsers.Unique("never"));
        await using var onDevice = await TestDevice.ConnectAsync(_broker, on, clientId: on + "-1");
        await using (var offDevice = await TestDevice.ConnectAsync(_broker, off, clientId: off + "-1"))
        {
            await offDevice.Client.DisconnectAsync();
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_broker.HttpPort}") };
        var url = $"/api/presence?userIds={on},{off},{never}";
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(url)).StatusCode);
        http.DefaultRequestHeaders.Add("X-Admin-Key", _broker.AdminKey);

        // The broker handles the disconnect after the client returns: poll, bounded.
        PresenceView[] views;
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10); ; await Task.Delay(50))
        {
            var response = await http.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            views = (await response.Content.ReadFromJsonAsync<PresenceView[]>())!;
            if ((views[0].Online && views[1].ChangedMs > 0 && !views[1].Online) || DateTime.UtcNow > deadline)
            {
                break;
            }
        }

        Assert.Equal([on, off, never], views.Select(v => v.UserId));
        Assert.True(views[0].Online);
        Assert.Equal([on + "-1"], views[0].Devices);
        Assert.True(views[0].ChangedMs > 0);
        Assert.Equal((false, 0), (views[1].Online, views[1].Devices.Length));
        Assert.True(views[1].ChangedMs > 0, "the last-seen time of a user who went offline");
        Assert.Equal((false, 0L, 0), (views[2].Online, views[2].ChangedMs, views[2].Devices.Length));

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/presence")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/presence?userIds=bad%20id")).StatusCode);
        var tooMany = string.Join(',', Enumerable.Range(0, 501).Select(i => "u" + i));
        var problem = await http.GetAsync("/api/presence?userIds=" + tooMany);
        Assert.Equal(HttpStatusCode.BadRequest, problem.StatusCode);
        Assert.Equal("application/problem+json", problem.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>A bare MQTT 3.1.1 CONNECT over a raw socket; the caller then simply stops sending.</summary>
    private async Task<Socket> RawConnectAsync(string user, string password, string clientId, ushort keepAliveSeconds)
    {
        static void WriteString(List<byte> to, string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            to.Add((byte)(bytes.Length >> 8));
            to.Add((byte)bytes.Length);
            to.AddRange(bytes);
        }

        var body = new List<byte>();
        WriteString(body, "MQTT");
        body.Add(4); // protocol level 3.1.1
        body.Add(0xC2); // user name, password, clean session
        body.Add((byte)(keepAliveSeconds >> 8));
        body.Add((byte)keepAliveSeconds);
        WriteString(body, clientId);
        WriteString(body, user);
        WriteString(body, password);

        var packet = new List<byte> { 0x10 };
        for (var length = body.Count; ; )
        {
            var digit = (byte)(length % 128);
            length /= 128;
            packet.Add(length > 0 ? (byte)(digit | 0x80) : digit);
            if (length == 0)
            {
                break;
            }
        }

        packet.AddRange(body);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", _broker.MqttPort);
        await socket.SendAsync(packet.ToArray());

        var connAck = new byte[4];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var read = 0; read < connAck.Length;)
        {
            var n = await socket.ReceiveAsync(connAck.AsMemory(read), timeout.Token);
            Assert.True(n > 0, "connection closed before CONNACK");
            read += n;
        }

        Assert.Equal(new byte[] { 0x20, 0x02, 0x00, 0x00 }, connAck);
        return socket;
    }

    private sealed record PresenceView(string UserId, bool Online, string[] Devices, long ChangedMs);
}
