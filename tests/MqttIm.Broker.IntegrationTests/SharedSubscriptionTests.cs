using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 13 item 6: shared subscriptions <c>$share/{ShareName}/{filter}</c>, which MQTTnet 5.2 refuses itself. One
/// member of a group gets each message (round-robin over the online members), the ACL judges the filter inside,
/// unacknowledged QoS 1 messages of a member that leaves go to another. With MQTTnet's client, raw sockets, paho
/// (MQTT 5 and 3.1.1) and mosquitto_sub. The broker allows anonymous clients on <c>public/#</c>.
/// </summary>
public sealed class SharedSubscriptionTests(AnonymousBrokerFixture fixture) : IClassFixture<AnonymousBrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly BrokerProcess _broker = fixture.Broker;

    // ---- distribution ----

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task EachMessage_GoesToExactlyOneMember_RoundRobinOverAllMembers(MqttProtocolVersion version)
    {
        var topic = $"jobs/dist{(int)version}/task";
        var members = new List<Collector>();
        for (var i = 0; i < 3; i++)
        {
            var member = await Collector.ConnectAsync(_broker, "worker" + i, version);
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await member.SubscribeAsync($"$share/workers/jobs/dist{(int)version}/+"));
            members.Add(member);
        }

        await using var publisher = await TestDevice.ConnectAsync(_broker, "jobpub", subscribeInbox: false);
        var sent = Enumerable.Range(0, 30).Select(i => "m" + i).ToList();
        foreach (var payload in sent)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(payload));
        }

        var received = await ReceiveAsync(members, sent.Count);

        Assert.Equal(sent.Order(), received.SelectMany(r => r).Order()); // each exactly once
        Assert.All(received, r => Assert.Equal(10, r.Count)); // every member used, in turn
        Assert.Equal(["m0", "m3", "m6"], received[0].Take(3));
        foreach (var member in members)
        {
            Assert.Empty(await member.ReceivedBeforeMarkerAsync(publisher)); // no extra copies
            await member.DisposeAsync();
        }
    }

    [Fact]
    public async Task Mqtt5Connack_AnnouncesSharedSubscriptions()
    {
        await using var member = await Collector.ConnectAsync(_broker, "announce", MqttProtocolVersion.V500);

        Assert.True(member.ConnectResult.SharedSubscriptionAvailable);
    }

    [Fact]
    public async Task PlainAndSharedSubscription_OnOneClient_GetBothCopies_QosIsTheLower()
    {
        await using var client = await Collector.ConnectAsync(_broker, "bothcopies", MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await client.SubscribeAsync("both/+/x"));
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, await client.SubscribeAsync("$share/g/both/#", MqttQualityOfServiceLevel.AtMostOnce));
        await using var publisher = await TestDevice.ConnectAsync(_broker, "bothpub", subscribeInbox: false);

        await publisher.PublishAsync("both/1/x", "hello"u8.ToArray());

        var first = await client.NextAsync(Timeout);
        var second = await client.NextAsync(Timeout);
        Assert.Equal(["hello", "hello"], new[] { first, second }.Select(m => Encoding.UTF8.GetString(m.Payload)));
        Assert.Equal([MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce], new[] { first, second }.Select(m => m.QualityOfServiceLevel).Order());
    }

    [Fact]
    public async Task SubscriptionIdentifier_OfTheSharedSubscription_IsCarried()
    {
        await using var client = await Collector.ConnectAsync(_broker, "subid", MqttProtocolVersion.V500);
        var options = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("$share/ids/subid/t").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .WithSubscriptionIdentifier(7)
            .Build();
        var result = await client.Client.SubscribeAsync(options);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, result.Items.Single().ResultCode);
        await using var publisher = await TestDevice.ConnectAsync(_broker, "subidpub", subscribeInbox: false);

        await publisher.PublishAsync("subid/t", "x"u8.ToArray());

        var message = await client.NextAsync(Timeout);
        Assert.Equal([7u], message.SubscriptionIdentifiers);
    }

    [Fact]
    public async Task RetainedMessages_AreNotSent_OnASharedSubscribe()
    {
        await using var publisher = await TestDevice.ConnectAsync(_broker, "retpub", subscribeInbox: false);
        await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("retained/shared/t").WithPayload("old")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build());
        await using var member = await Collector.ConnectAsync(_broker, "retmember", MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await member.SubscribeAsync("$share/ret/retained/shared/t"));

        // Same session queue: a retained message sent on subscribe would arrive before this one.
        await publisher.PublishAsync("retained/shared/t", "live"u8.ToArray());

        var first = await member.NextAsync(Timeout);
        Assert.Equal("live", Encoding.UTF8.GetString(first.Payload));
        Assert.False(first.Retain);
    }

    // ---- ACL on the inner filter ----

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Acl_JudgesTheFilterInside(MqttProtocolVersion version)
    {
        var refused = version == MqttProtocolVersion.V500 ? MqttClientSubscribeResultCode.NotAuthorized : MqttClientSubscribeResultCode.UnspecifiedError;
        await using var alice = await Collector.ConnectAsync(_broker, "aclalice" + (int)version, version);

        Assert.Equal(refused, await alice.SubscribeAsync("$share/g/inbox/somebodyelse"));
        Assert.Equal(refused, await alice.SubscribeAsync("$share/g/im/#"));
        Assert.Equal(refused, await alice.SubscribeAsync("$share/g/$SYS/#"));
        Assert.Equal(version == MqttProtocolVersion.V500 ? MqttClientSubscribeResultCode.SharedSubscriptionsNotSupported : MqttClientSubscribeResultCode.UnspecifiedError,
            await alice.SubscribeAsync("$share/g/inbox/aclalice" + (int)version)); // allowed, but only plain topics can be shared
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await alice.SubscribeAsync("$share/g/acl/plain/#"));

        // Anonymous clients: Auth:Anonymous:Subscribe is public/#, judged on the filter inside.
        await using var anonymous = await Collector.ConnectAnonymousAsync(_broker, "aclanon" + (int)version, version);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await anonymous.SubscribeAsync("$share/g/public/shared/#"));
        Assert.Equal(refused, await anonymous.SubscribeAsync("$share/g/private/#"));
        Assert.Equal(refused, await anonymous.SubscribeAsync("$share/g/#"));
        Assert.Equal(refused, await anonymous.SubscribeAsync("$share/g/im/#"));
    }

    [Fact]
    public async Task Acl_DeniedSharedFilter_GetsNothing()
    {
        await using var alice = await Collector.ConnectAsync(_broker, "acldenied", MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await alice.SubscribeAsync("$share/spy/inbox/victim"));
        await using var victim = await TestDevice.ConnectAsync(_broker, "victim");
        await using var sender = await TestDevice.ConnectAsync(_broker, "aclsender", subscribeInbox: false);

        await sender.SendAsync("victim", "secret");

        await victim.NextAsync(Timeout); // delivered to its owner…
        Assert.Empty(await alice.ReceivedBeforeMarkerAsync(sender)); // …and to nobody in the refused group
    }

    // ---- malformed share names, No Local ----

    [Theory]
    [InlineData(4, "$share//jobs")]
    [InlineData(4, "$share/g+/jobs")]
    [InlineData(4, "$share/g#/jobs")]
    [InlineData(4, "$share/g")]
    [InlineData(4, "$share/g/a/#/b")]
    [InlineData(5, "$share//jobs")]
    [InlineData(5, "$share/g+/jobs")]
    [InlineData(5, "$share/g#/jobs")]
    [InlineData(5, "$share/g")]
    [InlineData(5, "$share/g/a/#/b")]
    public async Task MalformedSharedFilter_Mqtt5TopicFilterInvalid_Mqtt311Failure_ConnectionStays(int level, string filter)
    {
        await using var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp);
        Assert.Equal(0x00, (await raw.ConnectMqttAsync(MqttBytes.Connect(level, $"malformed-{level}-{filter.GetHashCode():x}", "malformed", _broker.Token("malformed"))))[3]);

        await raw.SendAsync(Subscribe(level, 3, filter, 0x01));

        var subAck = await raw.ReceivePacketAsync(Timeout);
        Assert.NotNull(subAck);
        Assert.Equal(0x90, subAck[0]);
        Assert.Equal(level == 5 ? 0x8F : 0x80, subAck[^1]);
        await raw.SendAsync([0xC0, 0x00]); // still connected: PINGREQ → PINGRESP
        Assert.Equal([0xD0, 0x00], (await raw.ReceivePacketAsync(Timeout))!);
    }

    [Fact]
    public async Task NoLocalOnASharedSubscription_IsAProtocolError()
    {
        await using var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp);
        Assert.Equal(0x00, (await raw.ConnectMqttAsync(MqttBytes.Connect(5, "nolocal-shared", "nolocal", _broker.Token("nolocal"))))[3]);

        await raw.SendAsync(Subscribe(5, 4, "$share/g/nolocal/t", 0x05)); // QoS 1 + No Local

        var packets = await raw.ReceiveUntilClosedAsync(Timeout);
        Assert.Equal((byte)0x82, MqttBytes.DisconnectReason(Assert.Single(packets)));
    }

    // ---- leaving: unsubscribe, disconnect with unacknowledged messages ----

    [Fact]
    public async Task Unsubscribe_LeavesTheGroup_TheOthersGetEverything()
    {
        await using var a = await Collector.ConnectAsync(_broker, "unsuba", MqttProtocolVersion.V500);
        await using var b = await Collector.ConnectAsync(_broker, "unsubb", MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await a.SubscribeAsync("$share/leave/unsub/t"));
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await b.SubscribeAsync("$share/leave/unsub/t"));

        var first = await a.Client.UnsubscribeAsync("$share/leave/unsub/t");
        var again = await a.Client.UnsubscribeAsync("$share/leave/unsub/t");
        Assert.Equal(MqttClientUnsubscribeResultCode.Success, first.Items.Single().ResultCode);
        Assert.Equal(MqttClientUnsubscribeResultCode.NoSubscriptionExisted, again.Items.Single().ResultCode);

        await using var publisher = await TestDevice.ConnectAsync(_broker, "unsubpub", subscribeInbox: false);
        for (var i = 0; i < 4; i++)
        {
            await publisher.PublishAsync("unsub/t", Encoding.UTF8.GetBytes("m" + i));
        }

        var received = await ReceiveAsync([b], 4);
        Assert.Equal(["m0", "m1", "m2", "m3"], received[0]);
        Assert.Empty(await a.ReceivedBeforeMarkerAsync(publisher));
    }

    [Theory]
    [InlineData(4, Transport.Tcp)]
    [InlineData(5, Transport.Tcp)]
    [InlineData(5, Transport.WebSocket)]
    public async Task UnacknowledgedQos1_OfAMemberThatDrops_GoesToAnotherMember(int level, Transport transport)
    {
        var name = $"redo{level}{transport}".ToLowerInvariant();
        var filter = $"$share/redo/{name}/t";
        // Member A never acknowledges (raw socket); it joins first, so it gets the first message.
        var a = await RawMqttClient.ConnectAsync(_broker, transport);
        Assert.Equal(0x00, (await a.ConnectMqttAsync(MqttBytes.Connect(level, "a-" + name, "redoa", _broker.Token("redoa"))))[3]);
        await a.SendAsync(Subscribe(level, 1, filter, 0x01));
        Assert.Equal(0x01, (await a.ReceivePacketAsync(Timeout))![^1]);
        await using var b = await Collector.ConnectAsync(_broker, "redob" + level, level == 5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await b.SubscribeAsync(filter));
        await using var publisher = await TestDevice.ConnectAsync(_broker, "redopub", subscribeInbox: false);

        for (var i = 0; i < 4; i++)
        {
            await publisher.PublishAsync(name + "/t", Encoding.UTF8.GetBytes("m" + i));
        }

        var toA = await a.ReceivePacketAsync(Timeout);
        Assert.Equal("m0", PayloadOf(toA!, level));
        Assert.Equal(0x32, toA![0] & 0xF6); // QoS 1 PUBLISH, which A does not acknowledge
        await a.DisposeAsync(); // drops the connection: its clean session ends

        var received = await ReceiveAsync([b], 4);
        Assert.Equal(["m0", "m1", "m2", "m3"], received[0].Order());
        Assert.Empty(await b.ReceivedBeforeMarkerAsync(publisher));
    }

    [Fact]
    public async Task NoMemberOnline_MessagesWaitForTheFirstToCome_PersistentMemberKeepsItsMembership()
    {
        const string filter = "$share/keep/keep/t";
        var persistentOptions = TestDevice.Options(_broker, "keepa", _broker.Token("keepa"), "shared-keep-a", MqttProtocolVersion.V311)
            .WithCleanSession(false).Build();
        var a = await Collector.ConnectAsync(persistentOptions);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await a.SubscribeAsync(filter));
        await a.Client.DisconnectAsync(); // the session stays (clean session 0), so does its membership
        await WaitForGroupAsync("keep", "keep/t", g => g.OnlineMembers == 0 && g.Members == 1);

        await using var publisher = await TestDevice.ConnectAsync(_broker, "keeppub", subscribeInbox: false);
        await publisher.PublishAsync("keep/t", "m0"u8.ToArray());
        await publisher.PublishAsync("keep/t", "m1"u8.ToArray());
        await WaitForGroupAsync("keep", "keep/t", g => g.Pending == 2);

        await using var b = await Collector.ConnectAsync(_broker, "keepb", MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await b.SubscribeAsync(filter));
        Assert.Equal(["m0", "m1"], (await ReceiveAsync([b], 2))[0]);

        // A resumes its session without subscribing again: it is a member, and gets its turn.
        var resumed = await a.Client.ConnectAsync(persistentOptions);
        Assert.True(resumed.IsSessionPresent);
        await WaitForGroupAsync("keep", "keep/t", g => g.OnlineMembers == 2);
        for (var i = 2; i < 6; i++)
        {
            await publisher.PublishAsync("keep/t", Encoding.UTF8.GetBytes("m" + i));
        }

        var received = await ReceiveAsync([a, b], 4);
        Assert.Equal(["m2", "m3", "m4", "m5"], received.SelectMany(r => r).Order());
        Assert.Equal(2, received[0].Count);
        await a.DisposeAsync();
    }

    // ---- clients nobody here wrote ----

    [Theory]
    [InlineData("MQTTv5", "rc=1")]
    [InlineData("MQTTv311", "rc=1")]
    public async Task Paho_SharedMember_GetsEveryMessageOfItsGroup(string protocol, string granted)
    {
        var topic = "paho/shared/" + protocol.ToLowerInvariant();
        var script = $$"""
            import sys, threading
            import paho.mqtt.client as mqtt
            v5 = "{{protocol}}" == "MQTTv5"
            c = mqtt.Client(client_id="paho-shared-{{protocol}}", protocol=mqtt.{{protocol}})
            c.username_pw_set("pahoshared", sys.argv[2])
            got = []
            done = threading.Event()
            def on_connect(client, userdata, flags, rc, properties=None):
                client.subscribe("$share/paho/{{topic}}", qos=1)
            def on_subscribe(client, userdata, mid, granted, properties=None):
                first = granted[0]
                print("rc=%d" % (first.value if hasattr(first, "value") else first), flush=True)
            def on_message(client, userdata, msg):
                print("msg=%s qos=%d" % (msg.payload.decode(), msg.qos), flush=True)
                got.append(msg.payload)
                if len(got) == 3:
                    done.set()
            c.on_connect = on_connect
            c.on_subscribe = on_subscribe
            c.on_message = on_message
            c.connect("127.0.0.1", int(sys.argv[1]), 30)
            c.loop_start()
            done.wait(25)
            c.disconnect()
            c.loop_stop()
            """;
        await using var paho = StreamingProcess.Start("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("pahoshared")]);
        Assert.Equal(granted, await paho.WaitForLineAsync(l => l.StartsWith("rc=", StringComparison.Ordinal), Timeout));
        await using var publisher = await TestDevice.ConnectAsync(_broker, "pahopub", subscribeInbox: false);

        for (var i = 0; i < 3; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("p" + i));
        }

        var lines = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            lines.Add(await paho.WaitForLineAsync(l => l.StartsWith("msg=", StringComparison.Ordinal), Timeout));
        }

        Assert.Equal(["msg=p0 qos=1", "msg=p1 qos=1", "msg=p2 qos=1"], lines);
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task MosquittoSub_AndMqttnetMember_ShareTheMessages(string protocol)
    {
        var topic = "mosq/shared/" + protocol;
        var mosquittoSub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");
        await using var mosquitto = StreamingProcess.Start(mosquittoSub,
            ["-d", "-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-V", protocol, "-u", "mosqshared", "-P", _broker.Token("mosqshared"),
             "-i", "mosq-shared-" + protocol, "-t", "$share/mosq/" + topic, "-q", "1", "-C", "2", "-W", "25"]);
        await mosquitto.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);
        await using var member = await Collector.ConnectAsync(_broker, "mosqpeer" + protocol, MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await member.SubscribeAsync("$share/mosq/" + topic));
        await using var publisher = await TestDevice.ConnectAsync(_broker, "mosqpub", subscribeInbox: false);

        for (var i = 0; i < 4; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("q" + i));
        }

        // mosquitto_sub joined first: it gets q0 and q2, the MQTTnet member q1 and q3.
        var fromMosquitto = new[]
        {
            await mosquitto.WaitForLineAsync(l => l.StartsWith('q'), Timeout),
            await mosquitto.WaitForLineAsync(l => l.StartsWith('q'), Timeout),
        };
        Assert.Equal(["q0", "q2"], fromMosquitto);
        Assert.Equal(["q1", "q3"], (await ReceiveAsync([member], 2))[0]);
    }

    // ---- helpers ----

    /// <summary>MQTT SUBSCRIBE with one filter; MQTT 5 with no properties.</summary>
    private static byte[] Subscribe(int level, ushort packetId, string filter, byte options) =>
        MqttBytes.Packet(0x82, [(byte)(packetId >> 8), (byte)packetId], level == 5 ? [0x00] : [], MqttBytes.Str(filter), [options]);

    private static string PayloadOf(byte[] publish, int level)
    {
        var i = 1;
        while ((publish[i++] & 0x80) != 0)
        {
        }

        var topicLength = (publish[i] << 8) | publish[i + 1];
        i += 2 + topicLength;
        if (((publish[0] >> 1) & 0x03) > 0)
        {
            i += 2;
        }

        if (level == 5)
        {
            var propertiesLength = MqttBytes.ReadVarInt(publish, ref i);
            i += propertiesLength;
        }

        return Encoding.UTF8.GetString(publish, i, publish.Length - i);
    }

    /// <summary>Reads from every collector until <paramref name="total"/> messages arrived altogether (bounded in time); payloads per collector, in arrival order.</summary>
    private static async Task<List<List<string>>> ReceiveAsync(IReadOnlyList<Collector> collectors, int total)
    {
        var received = collectors.Select(_ => new List<string>()).ToList();
        using var deadline = new CancellationTokenSource(Timeout);
        while (true)
        {
            for (var i = 0; i < collectors.Count; i++)
            {
                while (collectors[i].TryTake(out var message))
                {
                    received[i].Add(Encoding.UTF8.GetString(message.Payload));
                }
            }

            if (received.Sum(r => r.Count) >= total)
            {
                return received;
            }

            // Wakes on the next message to any collector; only the overall deadline ends the wait without one.
            var next = Task.WhenAny(collectors.Select(c => c.WaitToReadAsync(deadline.Token)));
            try
            {
                await (await next);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                Assert.Fail($"only {received.Sum(r => r.Count)} of {total} messages arrived: " + string.Join(" | ", received.Select(r => string.Join(",", r))));
            }
        }
    }

    /// <summary>Polls the admin API until the group is in the expected state (bounded).</summary>
    private async Task WaitForGroupAsync(string shareName, string filter, Func<GroupState, bool> condition)
    {
        using var http = _broker.Http();
        var deadline = DateTime.UtcNow + Timeout;
        GroupState? last = null;
        while (DateTime.UtcNow < deadline)
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync("/api/admin/shared-subscriptions"));
            last = document.RootElement.GetProperty("groups").EnumerateArray()
                .Where(g => g.GetProperty("shareName").GetString() == shareName && g.GetProperty("filter").GetString() == filter)
                .Select(g => new GroupState(g.GetProperty("members").GetInt32(), g.GetProperty("onlineMembers").GetInt32(), g.GetProperty("pending").GetInt32()))
                .FirstOrDefault();
            if (last is not null && condition(last))
            {
                return;
            }

            await Task.Delay(50); // polling the broker's state, bounded by the deadline
        }

        Assert.Fail($"group {shareName}/{filter} did not reach the expected state; last seen: {last}");
    }

    private sealed record GroupState(int Members, int OnlineMembers, int Pending);

    /// <summary>An MQTTnet client (any protocol version, clean or persistent) collecting what it receives.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();

        private Collector(IMqttClient client, MqttClientConnectResult result)
        {
            Client = client;
            ConnectResult = result;
        }

        public IMqttClient Client { get; }

        public MqttClientConnectResult ConnectResult { get; }

        public static Task<Collector> ConnectAsync(BrokerProcess broker, string userId, MqttProtocolVersion version) =>
            ConnectAsync(TestDevice.Options(broker, userId, broker.Token(userId), $"{userId}-{Guid.NewGuid():N}"[..Math.Min(userId.Length + 13, 60)], version).Build());

        public static Task<Collector> ConnectAnonymousAsync(BrokerProcess broker, string clientId, MqttProtocolVersion version) =>
            ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.MqttPort).WithProtocolVersion(version)
                .WithClientId(clientId).WithCleanSession().WithTimeout(TimeSpan.FromSeconds(10)).Build());

        public static async Task<Collector> ConnectAsync(MqttClientOptions options)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var result = await client.ConnectAsync(options);
            Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
            var collector = new Collector(client, result);
            client.ApplicationMessageReceivedAsync += args =>
            {
                collector._received.Writer.TryWrite(args.ApplicationMessage);
                return Task.CompletedTask;
            };
            return collector;
        }

        public async Task<MqttClientSubscribeResultCode> SubscribeAsync(string filter, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce)
        {
            var result = await Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(qos)).Build());
            return result.Items.Single().ResultCode;
        }

        public bool TryTake(out MqttApplicationMessage message) => _received.Reader.TryRead(out message!);

        public Task WaitToReadAsync(CancellationToken cancellationToken) => _received.Reader.WaitToReadAsync(cancellationToken).AsTask();

        public async Task<MqttApplicationMessage> NextAsync(TimeSpan within)
        {
            using var cts = new CancellationTokenSource(within);
            return await _received.Reader.ReadAsync(cts.Token);
        }

        /// <summary>
        /// A barrier instead of a "nothing arrived within N ms" window: subscribes to a topic of this member's own, has
        /// <paramref name="publisher"/> publish a marker there, and returns what arrived before the marker. Whatever the
        /// broker had queued for this session before the marker was published arrives before it (one session's
        /// deliveries keep their order).
        /// </summary>
        public async Task<List<MqttApplicationMessage>> ReceivedBeforeMarkerAsync(TestDevice publisher)
        {
            var topic = "markers/" + Client.Options.ClientId;
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await SubscribeAsync(topic));
            var marker = Guid.NewGuid().ToString("N");
            var sent = await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(marker));
            Assert.True(sent.IsSuccess, $"marker refused: {sent.ReasonCode} {sent.ReasonString}");
            var before = new List<MqttApplicationMessage>();
            for (var message = await NextAsync(Timeout); message.Topic != topic || message.ConvertPayloadToString() != marker; message = await NextAsync(Timeout))
            {
                before.Add(message);
            }

            return before;
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
