using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 13 item 5: wills per the spec, over real sockets with MQTTnet's client, a byte-level client and paho. Every
/// "no will" is shown with the broker's own count of what it did with the will (discarded, cancelled, refused by the
/// ACL) and a marker published last on the watched topics: once the marker is in, nothing else went out before it.
/// </summary>
public sealed partial class WillMessageTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task Mqtt5_DelayedWill_AfterDisconnectWithWillMessage_ComesOnlyAfterTheDelay_WithItsProperties()
    {
        const string topic = "plain/will/delayed/status";
        await using var watcher = await WatcherAsync("plain/will/delayed/#");
        var delayedBefore = await MetricAsync("mqttim_wills_total", "published_delayed");
        var options = DeviceOptions("willdelay", "will-delayed", topic)
            .WithWillDelayInterval(2)
            .WithSessionExpiryInterval(60)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillRetain()
            .WithWillContentType("text/plain")
            .WithWillResponseTopic("plain/will/delayed/replies")
            .WithWillCorrelationData([1, 2, 3])
            .WithWillUserProperty("reason", new ReadOnlyMemory<byte>("power"u8.ToArray()))
            .WithWillPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithWillMessageExpiryInterval(120)
            .Build();
        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(options);

        // The broker cannot start the delay before this moment, so a will arriving less than the delay after it came too
        // soon (a lower bound only: load can make it later, never earlier). The exact timing is WillDelaySchedulerTests'.
        var closing = Stopwatch.StartNew();
        await device.DisconnectAsync(new MqttClientDisconnectOptions { Reason = MqttClientDisconnectOptionsReason.DisconnectWithWillMessage });

        var will = await watcher.NextAsync();
        Assert.True(closing.Elapsed >= TimeSpan.FromSeconds(1.9), $"the will came {closing.Elapsed} after the DISCONNECT, before its 2 s delay");
        Assert.Equal(topic, will.Topic);
        Assert.Equal("offline", will.ConvertPayloadToString());
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, will.QualityOfServiceLevel);
        Assert.Equal("text/plain", will.ContentType);
        Assert.Equal("plain/will/delayed/replies", will.ResponseTopic);
        Assert.Equal([1, 2, 3], will.CorrelationData);
        Assert.Equal(MqttPayloadFormatIndicator.CharacterData, will.PayloadFormatIndicator);
        Assert.InRange(will.MessageExpiryInterval, 1u, 120u);
        Assert.Contains(will.UserProperties ?? [], p => p.Name == "reason" && p.ReadValueAsString() == "power");
        Assert.DoesNotContain(will.UserProperties ?? [], p => p.Name.StartsWith("$mqttim", StringComparison.Ordinal));
        Assert.Equal(delayedBefore + 1, await MetricAsync("mqttim_wills_total", "published_delayed"));

        // Retained as asked: a later subscriber gets it from the retained store.
        await using var later = await WatcherAsync(topic);
        var retained = await later.NextAsync();
        Assert.True(retained.Retain);
        Assert.Equal("offline", retained.ConvertPayloadToString());
        await ClearRetainedAsync(topic);
    }

    [Fact]
    public async Task Mqtt5_ReconnectResumingTheSession_WithinTheDelay_CancelsTheWill()
    {
        await using var watcher = await WatcherAsync("plain/will/resume/#");
        var cancelledBefore = await MetricAsync("mqttim_wills_total", "cancelled");
        var options = DeviceOptions("willresume", "will-resume", "plain/will/resume/status")
            .WithWillDelayInterval(30)
            .WithSessionExpiryInterval(300)
            .WithCleanSession(false)
            .Build();
        using (var first = new MqttClientFactory().CreateMqttClient())
        {
            await first.ConnectAsync(options);
            await first.DisconnectAsync(new MqttClientDisconnectOptions { Reason = MqttClientDisconnectOptionsReason.DisconnectWithWillMessage });
        }

        await Poll.UntilAsync(async () => await MetricAsync("mqttim_wills_pending", null) >= 1, "the will was never scheduled");
        using var again = new MqttClientFactory().CreateMqttClient();
        var connected = await again.ConnectAsync(options);
        Assert.True(connected.IsSessionPresent);
        await Poll.UntilAsync(async () => await MetricAsync("mqttim_wills_total", "cancelled") > cancelledBefore, "the reconnect did not cancel the will");

        await watcher.PublishMarkerAsync("plain/will/resume/marker");
        Assert.Equal(["marker"], await watcher.PayloadsUntilMarkerAsync());

        // The new connection's will is deleted by its normal DISCONNECT.
        await again.DisconnectAsync();
        await watcher.PublishMarkerAsync("plain/will/resume/marker");
        Assert.Equal(["marker"], await watcher.PayloadsUntilMarkerAsync());
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task NormalDisconnect_SendsNoWill(MqttProtocolVersion version)
    {
        var prefix = $"plain/will/normal/{version}".ToLowerInvariant();
        await using var watcher = await WatcherAsync(prefix + "/#");
        var discardedBefore = await MetricAsync("mqttim_wills_total", "discarded");
        using (var device = new MqttClientFactory().CreateMqttClient())
        {
            await device.ConnectAsync(DeviceOptions("willnormal", $"will-normal-{version}", prefix + "/status", version).Build());
            await device.DisconnectAsync();
        }

        await Poll.UntilAsync(async () => await MetricAsync("mqttim_wills_total", "discarded") > discardedBefore, "the will was not discarded");
        await watcher.PublishMarkerAsync(prefix + "/marker");
        Assert.Equal(["marker"], await watcher.PayloadsUntilMarkerAsync());
    }

    [Fact]
    public async Task Mqtt5_Takeover_WithoutWillDelay_SendsTheOldConnectionsWill()
    {
        await using var watcher = await WatcherAsync("plain/will/takeover/#");
        var options = DeviceOptions("willtakeover", "will-takeover", "plain/will/takeover/status").Build();
        using var first = new MqttClientFactory().CreateMqttClient();
        await first.ConnectAsync(options);

        using var second = new MqttClientFactory().CreateMqttClient();
        await second.ConnectAsync(DeviceOptions("willtakeover", "will-takeover", "plain/will/takeover/second").Build());

        var will = await watcher.NextAsync();
        Assert.Equal("plain/will/takeover/status", will.Topic);
        await second.DisconnectAsync();
        await watcher.PublishMarkerAsync("plain/will/takeover/marker");
        Assert.Equal(["marker"], await watcher.PayloadsUntilMarkerAsync()); // the second one's will went with its normal DISCONNECT
    }

    [Fact]
    public async Task Mqtt5_ProtocolErrorClose_SendsTheWill()
    {
        await using var watcher = await WatcherAsync("plain/will/violation/#");
        await using var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp);
        var connAck = await raw.ConnectMqttAsync(ConnectWithWill(5, "will-violation", "willviolation", "plain/will/violation/status", "broken"));
        Assert.Equal(0x00, connAck[3]);

        await raw.SendAsync(MqttBytes.Publish(5, "plain/will/violation/x"u8.ToArray(), qos: 3, packetId: 1, "x"u8.ToArray()));
        Assert.True(await raw.IsClosedWithinAsync(Timeout));

        var will = await watcher.NextAsync();
        Assert.Equal("broken", will.ConvertPayloadToString());
    }

    [Fact]
    public async Task WebSocket_TwoConnectionsWithWills_EachKeepsItsOwn_TheDroppedOneSendsIt()
    {
        // Each WebSocket connection is known by its own remote end point: one's normal DISCONNECT must not take away
        // the other's will, and the dropped one's will is the one that goes out.
        await using var watcher = await WatcherAsync("plain/will/ws/#");
        var dropped = await RawMqttClient.ConnectAsync(_broker, Transport.WebSocket);
        var connAck = await dropped.ConnectMqttAsync(ConnectWithWill(5, "will-ws-dropped", "willwsdropped", "plain/will/ws/dropped", "dropped"));
        Assert.Equal(0x00, connAck[3]);

        using (var normal = new MqttClientFactory().CreateMqttClient())
        {
            await normal.ConnectAsync(TestDevice.Options(_broker, "willwsnormal", _broker.Token("willwsnormal"), "will-ws-normal", transport: Transport.WebSocket)
                .WithWillTopic("plain/will/ws/normal").WithWillPayload("normal").Build());
            await normal.DisconnectAsync();
        }

        await dropped.DisposeAsync(); // no DISCONNECT: the socket just goes
        var will = await watcher.NextAsync();
        Assert.Equal(("plain/will/ws/dropped", "dropped"), (will.Topic, will.ConvertPayloadToString()));
        await watcher.PublishMarkerAsync("plain/will/ws/marker");
        Assert.Equal(["marker"], await watcher.PayloadsUntilMarkerAsync());
    }

    [Fact]
    public async Task Mqtt311_KeepAliveTimeout_SendsTheWill()
    {
        await using var watcher = await WatcherAsync("plain/will/keepalive/#");
        await using var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp);
        var connAck = await raw.ConnectMqttAsync(ConnectWithWill(4, "will-keepalive", "willkeepalive", "plain/will/keepalive/status", "silent", keepAlive: 1));
        Assert.Equal(0x00, connAck[3]);

        // Silent from here on: the broker closes the connection after 1.5 × the keep-alive.
        var will = await watcher.NextAsync();
        Assert.Equal("silent", will.ConvertPayloadToString());
        Assert.True(await raw.IsClosedWithinAsync(Timeout));
    }

    [Fact]
    public async Task WillTopic_TheClientMayNotPublishTo_IsRefusedByItsAcl()
    {
        var deniedBefore = await MetricAsync("mqttim_acl_denials_total", "publish", label: "action");
        var publishedBefore = await MetricAsync("mqttim_wills_total", "published");
        await using (var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp))
        {
            var connAck = await raw.ConnectMqttAsync(ConnectWithWill(5, "will-acl", "willacl", "presence/someone", "spoofed"));
            Assert.Equal(0x00, connAck[3]);
        }

        await Poll.UntilAsync(async () => await MetricAsync("mqttim_wills_total", "published") > publishedBefore, "the will was not published");
        await Poll.UntilAsync(async () => await MetricAsync("mqttim_acl_denials_total", "publish", label: "action") > deniedBefore,
            "the will on presence/… was not refused by the ACL");
    }

    [Fact]
    public async Task Paho_Mqtt5_WillWithDelay_AfterTheProcessDies()
    {
        await using var watcher = await WatcherAsync("plain/will/paho5/#");
        var delayedBefore = await MetricAsync("mqttim_wills_total", "published_delayed");
        var script = """
            import os, sys
            import paho.mqtt.client as mqtt
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            def on_connect(c, u, flags, rc, properties=None):
                print("connected rc=%s" % rc, flush=True)
                os._exit(0)  # no DISCONNECT: the socket closes with the process
            c = mqtt.Client(client_id="will-paho5", protocol=mqtt.MQTTv5)
            c.username_pw_set("willpaho5", sys.argv[2])
            will = Properties(PacketTypes.WILLMESSAGE)
            will.WillDelayInterval = 1
            will.ContentType = "text/plain"
            c.will_set("plain/will/paho5/status", b"gone", qos=1, retain=False, properties=will)
            connect = Properties(PacketTypes.CONNECT)
            connect.SessionExpiryInterval = 60
            c.on_connect = on_connect
            c.connect("127.0.0.1", int(sys.argv[1]), 30, clean_start=True, properties=connect)
            c.loop_forever()
            """;
        var outcome = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(CultureInfo.InvariantCulture), _broker.Token("willpaho5")], Timeout);
        Assert.True(outcome.ExitCode == 0 && outcome.StdOut.Contains("connected rc=Success", StringComparison.Ordinal), outcome.StdOut + outcome.StdErr);

        var will = await watcher.NextAsync();
        Assert.Equal("gone", will.ConvertPayloadToString());
        Assert.Equal("text/plain", will.ContentType);
        Assert.Equal(delayedBefore + 1, await MetricAsync("mqttim_wills_total", "published_delayed")); // through the delay, not at once
    }

    [Fact]
    public async Task Paho_Mqtt311_Will_AfterTheProcessDies_OnlyWithoutDisconnect()
    {
        await using var watcher = await WatcherAsync("plain/will/paho311/#");
        var script = """
            import os, sys
            import paho.mqtt.client as mqtt
            abrupt = sys.argv[3] == "abrupt"
            def on_connect(c, u, flags, rc):
                print("connected rc=%d" % rc, flush=True)
                if abrupt:
                    os._exit(0)
                c.disconnect()
            c = mqtt.Client(client_id="will-paho311-" + sys.argv[3], protocol=mqtt.MQTTv311)
            c.username_pw_set("willpaho311", sys.argv[2])
            c.will_set("plain/will/paho311/" + sys.argv[3], b"gone", qos=1)
            c.on_connect = on_connect
            c.connect("127.0.0.1", int(sys.argv[1]), 30)
            c.loop_forever()
            """;
        string[] Args(string mode) => ["-c", script, _broker.MqttPort.ToString(CultureInfo.InvariantCulture), _broker.Token("willpaho311"), mode];
        var discardedBefore = await MetricAsync("mqttim_wills_total", "discarded");
        var clean = await ProcessRunner.RunAsync("/usr/bin/python3", Args("clean"), Timeout);
        Assert.True(clean.ExitCode == 0 && clean.StdOut.Contains("connected rc=0", StringComparison.Ordinal), clean.StdOut + clean.StdErr);
        await Poll.UntilAsync(async () => await MetricAsync("mqttim_wills_total", "discarded") > discardedBefore, "the will was not discarded");

        var abrupt = await ProcessRunner.RunAsync("/usr/bin/python3", Args("abrupt"), Timeout);
        Assert.True(abrupt.ExitCode == 0 && abrupt.StdOut.Contains("connected rc=0", StringComparison.Ordinal), abrupt.StdOut + abrupt.StdErr);

        var will = await watcher.NextAsync();
        Assert.Equal("plain/will/paho311/abrupt", will.Topic); // the first (clean) connection's will never came
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, will.QualityOfServiceLevel);
    }

    private MqttClientOptionsBuilder DeviceOptions(string userId, string clientId, string willTopic, MqttProtocolVersion version = MqttProtocolVersion.V500) =>
        TestDevice.Options(_broker, userId, _broker.Token(userId), clientId, version)
            .WithWillTopic(willTopic)
            .WithWillPayload("offline");

    /// <summary>A CONNECT (clean start, user name and token) with a will; MQTT 5 without properties.</summary>
    private byte[] ConnectWithWill(int level, string clientId, string userId, string willTopic, string willPayload, ushort keepAlive = 60)
    {
        byte flags = 0xC0 | 0x02 | 0x04 | 0x08; // user name, password, clean start, will, will QoS 1
        return MqttBytes.Packet(0x10,
            MqttBytes.Str("MQTT"),
            [(byte)level, flags, (byte)(keepAlive >> 8), (byte)keepAlive],
            level == 5 ? [0x00] : [],
            MqttBytes.Str(clientId),
            level == 5 ? [0x00] : [],
            MqttBytes.Str(willTopic),
            MqttBytes.Bin(Encoding.UTF8.GetBytes(willPayload)),
            MqttBytes.Str(userId),
            MqttBytes.Str(_broker.Token(userId)));
    }

    private async Task ClearRetainedAsync(string topic)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(TestDevice.Options(_broker, "willclear", _broker.Token("willclear"), "will-clear").Build());
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await client.DisconnectAsync();
    }

    /// <summary>A counter or gauge from /metrics (0 when absent); <paramref name="value"/> selects by its label.</summary>
    private async Task<double> MetricAsync(string name, string? value, string label = "outcome")
    {
        using var http = _broker.Http();
        var metrics = await http.GetStringAsync("/metrics");
        var selector = value is null ? "" : $"\\{{{label}=\"{Regex.Escape(value)}\"\\}}";
        var match = Regex.Match(metrics, $"^{Regex.Escape(name)}{selector} (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Polls <paramref name="condition"/> (a /metrics read) every 20 ms until it holds, at most <see cref="Timeout"/>.</summary>

    private async Task<Watcher> WatcherAsync(string filter)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var watcher = new Watcher(client);
        await client.ConnectAsync(TestDevice.Options(_broker, "willwatch", _broker.Token("willwatch"), $"will-watch-{Guid.NewGuid():N}"[..24]).Build());
        await client.SubscribeAsync(filter, MqttQualityOfServiceLevel.ExactlyOnce);
        return watcher;
    }

    /// <summary>An MQTTnet client that collects what it receives on the watched topics.</summary>
    private sealed class Watcher : IAsyncDisposable
    {
        private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();
        private readonly IMqttClient _client;

        public Watcher(IMqttClient client)
        {
            _client = client;
            client.ApplicationMessageReceivedAsync += args =>
            {
                _received.Writer.TryWrite(args.ApplicationMessage);
                return Task.CompletedTask;
            };
        }

        public async Task<MqttApplicationMessage> NextAsync()
        {
            using var cts = new CancellationTokenSource(Timeout);
            return await _received.Reader.ReadAsync(cts.Token);
        }

        public Task PublishMarkerAsync(string topic) =>
            _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("marker").Build());

        /// <summary>Payloads received up to and including the marker.</summary>
        public async Task<List<string>> PayloadsUntilMarkerAsync()
        {
            var payloads = new List<string>();
            for (var i = 0; i < 100; i++)
            {
                var payload = (await NextAsync()).ConvertPayloadToString();
                payloads.Add(payload);
                if (payload == "marker")
                {
                    return payloads;
                }
            }

            throw new InvalidOperationException("no marker within 100 messages");
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }

            _client.Dispose();
        }
    }
}
