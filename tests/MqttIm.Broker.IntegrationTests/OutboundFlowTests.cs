using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 13 items 1-3: what the broker sends a plain MQTT 5 client honours the client's Receive Maximum and Maximum
/// Packet Size, and a message's expiry. Checked with byte-level clients that withhold acks, MQTTnet's client and paho.
/// Every "nothing more arrived" is shown with a QoS 0 marker published last: it passes held messages, so once it is
/// in, everything before it has been through the broker.
/// </summary>
public sealed partial class OutboundFlowTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly BrokerProcess _broker = fixture.Broker;

    // ---- item 1: client Receive Maximum ----

    [Theory]
    [InlineData(Transport.Tcp)]
    [InlineData(Transport.WebSocket)]
    public async Task ReceiveMaximum2_RawClientWithholdingAcks_SeesAtMostTwo_RestFollowAsItAcks(Transport transport)
    {
        var topic = $"plain/rm/raw/{transport}".ToLowerInvariant();
        await using var raw = await RawMqttClient.ConnectAsync(_broker, transport);
        var connAck = await raw.ConnectMqttAsync(MqttBytes.Connect(5, $"rm-raw-{transport}", "rmraw", _broker.Token("rmraw"),
            properties: [0x21, 0x00, 0x02])); // Receive Maximum 2
        Assert.Equal(0x00, connAck[3]);
        await raw.SendAsync(Subscribe(1, topic, qos: 1));
        Assert.Equal(0x90, (await raw.ReceivePacketAsync(Timeout))![0]);

        await using var publisher = await TestDevice.ConnectAsync(_broker, "rmpub", subscribeInbox: false);
        for (var i = 1; i <= 5; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"m{i}"));
        }

        await publisher.PublishAsync(topic, "marker"u8.ToArray(), MqttQualityOfServiceLevel.AtMostOnce);

        var before = await ReceiveUntilAsync(raw, "marker");
        Assert.Equal(["m1", "m2"], before.Select(p => p.Payload));
        Assert.All(before, p => Assert.Equal(1, p.Qos));

        // Held messages do not hold up the rest of the protocol.
        await raw.SendAsync([0xC0, 0x00]);
        Assert.Equal(0xD0, (await raw.ReceivePacketAsync(Timeout))![0]);

        await raw.SendAsync(PubAck(before[0].PacketId));
        var third = Parse(await raw.ReceivePacketAsync(Timeout));
        Assert.Equal("m3", third.Payload);

        await publisher.PublishAsync(topic, "marker2"u8.ToArray(), MqttQualityOfServiceLevel.AtMostOnce);
        Assert.Empty(await ReceiveUntilAsync(raw, "marker2")); // still two outstanding (m2, m3): m4 waits

        await raw.SendAsync(PubAck(before[1].PacketId));
        await raw.SendAsync(PubAck(third.PacketId));
        var rest = new[] { Parse(await raw.ReceivePacketAsync(Timeout)), Parse(await raw.ReceivePacketAsync(Timeout)) };
        Assert.Equal(["m4", "m5"], rest.Select(p => p.Payload));
    }

    [Fact]
    public async Task ReceiveMaximum2_Qos2_SlotFreedByPubcompOnly()
    {
        const string topic = "plain/rm/qos2";
        await using var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp);
        await raw.ConnectMqttAsync(MqttBytes.Connect(5, "rm-raw-qos2", "rmraw", _broker.Token("rmraw"), properties: [0x21, 0x00, 0x02]));
        await raw.SendAsync(Subscribe(1, topic, qos: 2));
        Assert.Equal(0x90, (await raw.ReceivePacketAsync(Timeout))![0]);

        await using var publisher = await TestDevice.ConnectAsync(_broker, "rmpub2", subscribeInbox: false);
        for (var i = 1; i <= 3; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"q{i}"), MqttQualityOfServiceLevel.ExactlyOnce);
        }

        await publisher.PublishAsync(topic, "marker"u8.ToArray(), MqttQualityOfServiceLevel.AtMostOnce);
        var first = await ReceiveUntilAsync(raw, "marker");
        Assert.Equal(["q1", "q2"], first.Select(p => p.Payload));

        // PUBREC (success) does not end the exchange: q3 still waits.
        await raw.SendAsync([0x50, 0x02, .. Id(first[0].PacketId)]);
        Assert.Equal(0x62, (await raw.ReceivePacketAsync(Timeout))![0]); // PUBREL
        await publisher.PublishAsync(topic, "marker2"u8.ToArray(), MqttQualityOfServiceLevel.AtMostOnce);
        Assert.Empty(await ReceiveUntilAsync(raw, "marker2"));

        await raw.SendAsync([0x70, 0x02, .. Id(first[0].PacketId)]); // PUBCOMP
        Assert.Equal("q3", Parse(await raw.ReceivePacketAsync(Timeout)).Payload);
    }

    [Fact]
    public async Task ReceiveMaximum2_MqttnetClientWithManualAcks_SeesAtMostTwo()
    {
        const string topic = "plain/rm/mqttnet";
        var received = Channel.CreateUnbounded<MqttApplicationMessageReceivedEventArgs>();
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += args =>
        {
            args.AutoAcknowledge = false;
            received.Writer.TryWrite(args);
            return Task.CompletedTask;
        };
        await client.ConnectAsync(TestDevice.Options(_broker, "rmnet", _broker.Token("rmnet"), "rm-mqttnet").WithReceiveMaximum(2).Build());
        await client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);

        await using var publisher = await TestDevice.ConnectAsync(_broker, "rmpub3", subscribeInbox: false);
        for (var i = 1; i <= 4; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"n{i}"));
        }

        await publisher.PublishAsync(topic, "marker"u8.ToArray(), MqttQualityOfServiceLevel.AtMostOnce);
        var before = new List<MqttApplicationMessageReceivedEventArgs>();
        while (true)
        {
            var next = await ReadAsync(received.Reader);
            if (next.ApplicationMessage.ConvertPayloadToString() == "marker")
            {
                break;
            }

            before.Add(next);
        }

        Assert.Equal(["n1", "n2"], before.Select(a => a.ApplicationMessage.ConvertPayloadToString()));
        await before[0].AcknowledgeAsync(CancellationToken.None);
        var third = await ReadAsync(received.Reader);
        Assert.Equal("n3", third.ApplicationMessage.ConvertPayloadToString());
        await before[1].AcknowledgeAsync(CancellationToken.None);
        await third.AcknowledgeAsync(CancellationToken.None);
        Assert.Equal("n4", (await ReadAsync(received.Reader)).ApplicationMessage.ConvertPayloadToString());
        await client.DisconnectAsync();
    }

    [Fact]
    public async Task ReceiveMaximum1_Paho_GetsEveryQos1AndQos2MessageInOrder()
    {
        const string topic = "plain/rm/paho";
        var script = """
            import sys, threading
            import paho.mqtt.client as mqtt
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            seen = []
            done = threading.Event()
            def on_connect(c, u, flags, rc, properties=None):
                c.subscribe(sys.argv[3], qos=2)
            def on_subscribe(c, u, mid, rcs, properties=None):
                print("subscribed", flush=True)
            def on_message(c, u, m):
                print("got %s qos=%d" % (m.payload.decode(), m.qos), flush=True)
                seen.append(m.payload)
                if len(seen) == 20:
                    done.set()
            c = mqtt.Client(client_id="rm-paho", protocol=mqtt.MQTTv5)
            c.username_pw_set("rmpaho", sys.argv[2])
            c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
            props = Properties(PacketTypes.CONNECT)
            props.ReceiveMaximum = 1
            c.connect("127.0.0.1", int(sys.argv[1]), 30, properties=props)
            c.loop_start()
            print("done" if done.wait(30) else "timeout", flush=True)
            c.disconnect()
            c.loop_stop()
            """;
        await using var paho = StreamingProcess.Start("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("rmpaho"), topic]);
        await paho.WaitForLineAsync(l => l == "subscribed", Timeout);
        await using var publisher = await TestDevice.ConnectAsync(_broker, "rmpub4", subscribeInbox: false);
        for (var i = 1; i <= 20; i++)
        {
            await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"p{i}"), i % 2 == 0 ? MqttQualityOfServiceLevel.ExactlyOnce : MqttQualityOfServiceLevel.AtLeastOnce);
        }

        var lines = new List<string>();
        for (var i = 1; i <= 20; i++)
        {
            lines.Add(await paho.WaitForLineAsync(l => l.StartsWith("got ", StringComparison.Ordinal), Timeout));
        }

        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"got p{i} qos={(i % 2 == 0 ? 2 : 1)}"), lines);
        Assert.Equal("done", await paho.WaitForLineAsync(l => l is "done" or "timeout", Timeout));
    }

    // ---- item 2: client Maximum Packet Size ----

    [Fact]
    public async Task MaximumPacketSize_TooBigMessage_DroppedAndCountedForThatSubscriberOnly()
    {
        const string topic = "plain/mps/t";
        var dropsBefore = await DroppedAsync("too_large");
        var pahoScript = """
            import sys
            import paho.mqtt.client as mqtt
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            def on_connect(c, u, flags, rc, properties=None):
                c.subscribe(sys.argv[3], qos=2)
            def on_subscribe(c, u, mid, rcs, properties=None):
                print("subscribed", flush=True)
            def on_message(c, u, m):
                print("got %s len=%d" % (m.payload[:5].decode(), len(m.payload)), flush=True)
                if m.payload == b"marker":
                    c.disconnect()
            c = mqtt.Client(client_id="mps-paho", protocol=mqtt.MQTTv5)
            c.username_pw_set("mpspaho", sys.argv[2])
            c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
            props = Properties(PacketTypes.CONNECT)
            props.MaximumPacketSize = 256
            c.connect("127.0.0.1", int(sys.argv[1]), 30, properties=props)
            c.loop_forever()
            print("closed", flush=True)
            """;
        await using var paho = StreamingProcess.Start("/usr/bin/python3", ["-c", pahoScript, _broker.MqttPort.ToString(), _broker.Token("mpspaho"), topic]);
        await paho.WaitForLineAsync(l => l == "subscribed", Timeout);

        var small = await SubscriberAsync("mpsnet", topic, o => o.WithMaximumPacketSize(256));
        var normal = await SubscriberAsync("mpsbig", topic, o => o);
        await using var publisher = await TestDevice.ConnectAsync(_broker, "mpspub", subscribeInbox: false);
        var big = Encoding.UTF8.GetBytes("big1-" + new string('x', 600));
        await publisher.PublishAsync(topic, big);
        await publisher.PublishAsync(topic, [.. "big2-"u8, .. big[5..]], MqttQualityOfServiceLevel.ExactlyOnce);
        await publisher.PublishAsync(topic, "small"u8.ToArray(), MqttQualityOfServiceLevel.ExactlyOnce);
        await publisher.PublishAsync(topic, "marker"u8.ToArray(), MqttQualityOfServiceLevel.ExactlyOnce); // QoS 2 like "small": paho hands a QoS 2 message over at its PUBREL, so a QoS 0 marker could overtake it

        Assert.Equal(["small", "marker"], await small.PayloadsUntilAsync("marker"));
        Assert.Equal(["big1-", "big2-", "small", "marke"], (await normal.PayloadsUntilAsync("marker")).Select(p => p[..Math.Min(5, p.Length)]));
        Assert.Equal("got small len=5", await paho.WaitForLineAsync(l => l.StartsWith("got ", StringComparison.Ordinal), Timeout));
        Assert.Equal("got marke len=6", await paho.WaitForLineAsync(l => l.StartsWith("got ", StringComparison.Ordinal), Timeout));
        Assert.Equal("closed", await paho.WaitForLineAsync(l => l == "closed", Timeout));

        // The small client is still served (its dropped QoS 1/2 exchanges were completed for MQTTnet).
        Assert.True(small.Client.IsConnected);
        await publisher.PublishAsync(topic, "after"u8.ToArray(), MqttQualityOfServiceLevel.ExactlyOnce);
        Assert.Equal(["after"], await small.PayloadsUntilAsync("after"));
        Assert.Equal(dropsBefore + 4, await DroppedAsync("too_large")); // two messages, two small subscribers
        await small.DisposeAsync();
        await normal.DisposeAsync();
    }

    // ---- item 3: message expiry ----

    [Fact]
    public async Task MessageExpiry_Retained_ExpiredNotDelivered_LiveOneCarriesRemainingInterval_MqttnetAndPaho()
    {
        await using var publisher = await TestDevice.ConnectAsync(_broker, "exppub", subscribeInbox: false);
        await publisher.Client.PublishAsync(Retained("plain/exp/r/alive", "alive", 3600));
        await publisher.Client.PublishAsync(Retained("plain/exp/r/gone", "gone", 1));

        var fresh = await SubscriberAsync("expnet", "plain/exp/r/alive", o => o);
        var alive = await fresh.NextAsync();
        Assert.InRange(alive.MessageExpiryInterval, 3500u, 3600u);
        Assert.DoesNotContain(alive.UserProperties ?? [], p => p.Name.StartsWith("$mqttim", StringComparison.Ordinal));
        await fresh.DisposeAsync();

        await WaitUntilRetainedExpiredAsync("plain/exp/r/gone");

        // paho, a client nobody here wrote: only the live message, with what is left of its interval.
        var script = """
            import sys
            import paho.mqtt.client as mqtt
            def on_connect(c, u, flags, rc, properties=None):
                c.subscribe("plain/exp/r/+", qos=1)
            def on_subscribe(c, u, mid, rcs, properties=None):
                c.publish("plain/exp/r/marker", b"marker", qos=0)
            def on_message(c, u, m):
                p = m.properties
                mei = getattr(p, "MessageExpiryInterval", None) if p else None
                keys = [k for k, v in getattr(p, "UserProperty", [])] if p else []
                print("%s retain=%d mei=%s keys=%s" % (m.payload.decode(), int(m.retain), mei, ",".join(keys)), flush=True)
                if m.payload == b"marker":
                    c.disconnect()
            c = mqtt.Client(client_id="exp-paho", protocol=mqtt.MQTTv5)
            c.username_pw_set("exppaho", sys.argv[2])
            c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
            c.connect("127.0.0.1", int(sys.argv[1]), 30)
            c.loop_forever()
            """;
        var outcome = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("exppaho")], Timeout);
        Assert.True(outcome.ExitCode == 0, outcome.StdErr);
        var lines = outcome.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        var match = AliveLine().Match(lines[0]);
        Assert.True(match.Success, lines[0]);
        Assert.InRange(uint.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), 1u, 3599u); // ≥ 1 s has passed
        Assert.StartsWith("marker retain=0", lines[1]);
    }

    [Fact]
    public async Task MessageExpiry_QueuedForOfflineSession_ExpiredOneDropped_OtherCarriesRemainingInterval()
    {
        const string topic = "plain/exp/q";
        var options = TestDevice.Options(_broker, "expq", _broker.Token("expq"), "exp-queued")
            .WithCleanSession(false).WithSessionExpiryInterval(3600).Build();
        using (var first = new MqttClientFactory().CreateMqttClient())
        {
            await first.ConnectAsync(options);
            await first.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            await first.DisconnectAsync();
        }

        await using var publisher = await TestDevice.ConnectAsync(_broker, "exppubq", subscribeInbox: false);
        await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("short")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithMessageExpiryInterval(1).Build());
        await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("long")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithMessageExpiryInterval(3600).Build());
        // Published after both: once it has expired, "short" has too and "long" is at least 1 s old (its remaining interval,
        // rounded up, is at most 3599). Each queued publish waits for the store, so "long" is stamped well after "short".
        await publisher.Client.PublishAsync(Retained("plain/exp/q/probe", "probe", 1));
        await WaitUntilRetainedExpiredAsync("plain/exp/q/probe");

        var received = Channel.CreateUnbounded<MqttApplicationMessage>();
        using var again = new MqttClientFactory().CreateMqttClient();
        again.ApplicationMessageReceivedAsync += args =>
        {
            received.Writer.TryWrite(args.ApplicationMessage);
            return Task.CompletedTask;
        };
        var connected = await again.ConnectAsync(options);
        Assert.True(connected.IsSessionPresent);
        await publisher.PublishAsync(topic, "marker"u8.ToArray());

        var messages = new List<MqttApplicationMessage>();
        do
        {
            messages.Add(await ReadAsync(received.Reader));
        }
        while (messages[^1].ConvertPayloadToString() != "marker");

        Assert.Equal(["long", "marker"], messages.Select(m => m.ConvertPayloadToString()));
        Assert.InRange(messages[0].MessageExpiryInterval, 1u, 3599u);
        Assert.Equal(0u, messages[1].MessageExpiryInterval);
        await again.DisconnectAsync();
    }

    // ---- item 12: problem information only where the client allows it ----

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Refusals_CarryReasonStrings_OnlyWhenTheClientAllowsThem(bool noProblemInformation, bool tinyMaximumPacketSize)
    {
        byte[] properties = [.. noProblemInformation ? new byte[] { 0x17, 0x00 } : [], .. tinyMaximumPacketSize ? new byte[] { 0x27, 0, 0, 0, 16 } : []];
        await using var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp);
        var connAck = await raw.ConnectMqttAsync(MqttBytes.Connect(5, $"rpi-{noProblemInformation}-{tinyMaximumPacketSize}", "rpiuser",
            _broker.Token("rpiuser"), properties: properties));
        Assert.Equal(0x00, connAck[3]);
        if (tinyMaximumPacketSize)
        {
            Assert.True(connAck.Length <= 16, $"CONNACK of {connAck.Length} bytes over the client's 16");
        }

        await raw.SendAsync(MqttBytes.Publish(5, "inbox/someoneelse"u8.ToArray(), 1, 3, "x"u8.ToArray()));
        var pubAck = await raw.ReceivePacketAsync(Timeout);
        await raw.SendAsync(Subscribe(4, "inbox/someoneelse", qos: 1));
        var subAck = await raw.ReceivePacketAsync(Timeout);

        Assert.Equal(0x40, pubAck![0]);
        Assert.Equal(0x87, pubAck[4]); // NotAuthorized
        Assert.Equal(0x90, subAck![0]);
        Assert.Equal(0x87, subAck[^1]);
        var allowed = !noProblemInformation && !tinyMaximumPacketSize;
        Assert.Equal(allowed, pubAck.Length > 5 && pubAck.AsSpan(5).IndexOf((byte)0x1F) >= 0);
        Assert.Equal(allowed, subAck.Length > 6);
        if (!allowed)
        {
            Assert.Equal([0x40, 0x04, 0x00, 0x03, 0x87, 0x00], pubAck);
            Assert.Equal([0x90, 0x04, 0x00, 0x04, 0x00, 0x87], subAck);
        }
    }

    [Theory]
    [InlineData("MQTTv5")]
    [InlineData("MQTTv311")]
    public async Task Refusals_ParsedByPahosStrictParser_AndTheConnectionStaysUp(string protocol)
    {
        // paho checks every property id against the packet type and drops the connection on anything off.
        var script = $$"""
            import sys, threading
            import paho.mqtt.client as mqtt
            v5 = "{{protocol}}" == "MQTTv5"
            events = []
            done = threading.Event()
            def on_connect(c, u, flags, rc, properties=None):
                events.append("connack %s" % rc)
                c.subscribe("inbox/someoneelse", qos=1)
            def on_subscribe(c, u, mid, rcs, properties=None):
                events.append("suback %s" % ",".join(str(r) for r in rcs))
                c.publish("inbox/someoneelse", b"x", qos=1)
            def on_publish(c, u, mid):
                events.append("puback")
                c.subscribe("plain/audit/ok", qos=1)
                c.on_subscribe = lambda c2, u2, m2, r2, p2=None: (events.append("suback2 %s" % ",".join(str(r) for r in r2)), done.set())
            def on_disconnect(c, u, rc, properties=None):
                events.append("disconnect %s" % rc)
                done.set()
            c = mqtt.Client(client_id="audit-" + "{{protocol}}", protocol=getattr(mqtt, "{{protocol}}"))
            c.username_pw_set("audituser", sys.argv[2])
            c.on_connect, c.on_subscribe, c.on_publish, c.on_disconnect = on_connect, on_subscribe, on_publish, on_disconnect
            c.connect("127.0.0.1", int(sys.argv[1]), 30)
            c.loop_start()
            done.wait(15)
            c.loop_stop()
            print("|".join(events), flush=True)
            bad = mqtt.Client(client_id="audit-bad-" + "{{protocol}}", protocol=getattr(mqtt, "{{protocol}}"))
            bad.username_pw_set("audituser", "not-a-token")
            refused = threading.Event()
            bad.on_connect = lambda c, u, f, rc, p=None: (print("refused %s" % rc, flush=True), refused.set())
            bad.connect("127.0.0.1", int(sys.argv[1]), 30)
            bad.loop_start()
            refused.wait(15)
            bad.loop_stop()
            """;
        var outcome = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("audituser")], Timeout);
        Assert.True(outcome.ExitCode == 0, outcome.StdErr);
        var lines = outcome.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        if (protocol == "MQTTv5")
        {
            Assert.Equal("connack Success|suback Not authorized|puback|suback2 Granted QoS 1", lines[0]);
            Assert.Matches("^refused (Bad user name or password|Not authorized)$", lines[1]);
        }
        else
        {
            Assert.Equal("connack 0|suback 128|puback|suback2 1", lines[0]);
            Assert.Matches("^refused [45]$", lines[1]);
        }
    }

    // ---- helpers ----

    [GeneratedRegex(@"^alive retain=1 mei=(\d+) keys=$")]
    private static partial Regex AliveLine();

    private static MqttApplicationMessage Retained(string topic, string payload, uint expirySeconds) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithMessageExpiryInterval(expirySeconds).Build();

    /// <summary>
    /// Polls (bounded) until a fresh subscription to <paramref name="topic"/> no longer gets its retained message: one
    /// subscriber, subscribe, a marker through the same connection, unsubscribe.
    /// </summary>
    private async Task WaitUntilRetainedExpiredAsync(string topic)
    {
        var probe = await SubscriberAsync("expprobe", topic + "/marker", o => o);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the retained message on {topic} was still delivered after 30 s");
            if (attempt > 0)
            {
                // Poll interval: unpaced, this loop publishes markers faster than the broker's publish rate limit
                // (Moderation:PublishesPerSecond) admits, and a QoS 0 marker refused by it never arrives.
                await Task.Delay(50);
            }

            await probe.Client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            await probe.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic + "/marker").WithPayload("marker").Build());
            var payloads = await probe.PayloadsUntilAsync("marker");
            await probe.Client.UnsubscribeAsync(topic);
            if (payloads.Count == 1)
            {
                await probe.DisposeAsync();
                return;
            }
        }

        Assert.Fail($"the retained message on {topic} did not expire");
    }

    private async Task<Subscriber> SubscriberAsync(string userId, string topic, Func<MqttClientOptionsBuilder, MqttClientOptionsBuilder> configure)
    {
        var subscriber = new Subscriber(new MqttClientFactory().CreateMqttClient());
        var options = configure(TestDevice.Options(_broker, userId, _broker.Token(userId), $"{userId}-{Guid.NewGuid():N}"[..24]));
        await subscriber.Client.ConnectAsync(options.Build());
        await subscriber.Client.SubscribeAsync(topic, MqttQualityOfServiceLevel.ExactlyOnce);
        return subscriber;
    }

    private async Task<double> DroppedAsync(string reason)
    {
        using var http = _broker.Http();
        var metrics = await http.GetStringAsync("/metrics");
        var match = Regex.Match(metrics, $"^mqttim_outbound_dropped_total\\{{reason=\"{reason}\"\\}} (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static async Task<T> ReadAsync<T>(ChannelReader<T> reader)
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await reader.ReadAsync(cts.Token);
    }

    private static byte[] Subscribe(ushort packetId, string filter, int qos) =>
        MqttBytes.Packet(0x82, Id(packetId), [0x00], MqttBytes.Str(filter), [(byte)qos]);

    private static byte[] PubAck(ushort packetId) => [0x40, 0x02, .. Id(packetId)];

    private static byte[] Id(ushort packetId) => [(byte)(packetId >> 8), (byte)packetId];

    /// <summary>PUBLISHes received until the one with <paramref name="markerPayload"/> (not included); fails on other packets.</summary>
    private static async Task<List<Publish>> ReceiveUntilAsync(RawMqttClient raw, string markerPayload)
    {
        var publishes = new List<Publish>();
        for (var i = 0; i < 100; i++)
        {
            var publish = Parse(await raw.ReceivePacketAsync(Timeout));
            if (publish.Payload == markerPayload)
            {
                return publishes;
            }

            publishes.Add(publish);
        }

        throw new InvalidOperationException("no marker within 100 packets");
    }

    private readonly record struct Publish(int Qos, ushort PacketId, string Payload);

    /// <summary>An MQTT 5 PUBLISH from the broker (fails on any other packet).</summary>
    private static Publish Parse(byte[]? packet)
    {
        Assert.NotNull(packet);
        Assert.Equal(3, packet[0] >> 4);
        var qos = (packet[0] >> 1) & 3;
        var at = 1;
        while ((packet[at++] & 0x80) != 0)
        {
        }

        var topicLength = (packet[at] << 8) | packet[at + 1];
        at += 2 + topicLength;
        ushort packetId = 0;
        if (qos > 0)
        {
            packetId = (ushort)((packet[at] << 8) | packet[at + 1]);
            at += 2;
        }

        var propertiesLength = MqttBytes.ReadVarInt(packet, ref at);
        at += propertiesLength;
        return new Publish(qos, packetId, Encoding.UTF8.GetString(packet, at, packet.Length - at));
    }

    /// <summary>An MQTTnet client that collects what it receives.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();

        public Subscriber(IMqttClient client)
        {
            Client = client;
            client.ApplicationMessageReceivedAsync += args =>
            {
                _received.Writer.TryWrite(args.ApplicationMessage);
                return Task.CompletedTask;
            };
        }

        public IMqttClient Client { get; }

        public async Task<MqttApplicationMessage> NextAsync() => await ReadAsync(_received.Reader);

        /// <summary>Payloads received up to and including the marker.</summary>
        public async Task<List<string>> PayloadsUntilAsync(string marker)
        {
            var payloads = new List<string>();
            for (var i = 0; i < 100; i++)
            {
                var payload = (await NextAsync()).ConvertPayloadToString();
                payloads.Add(payload);
                if (payload == marker)
                {
                    return payloads;
                }
            }

            throw new InvalidOperationException("no marker within 100 messages");
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
