using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 13 item 4: the Session Expiry Interval from CONNECT, changed on DISCONNECT within the spec's rules (0 → non-zero
/// is a protocol error, 0x82; 0 ends the session at that disconnect), with raw packets, MQTTnet's client and paho.
/// </summary>
public sealed class SessionExpiryTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly BrokerProcess _broker = fixture.Broker;

    private static byte[] ExpiryProperty(uint seconds) => [0x11, (byte)(seconds >> 24), (byte)(seconds >> 16), (byte)(seconds >> 8), (byte)seconds];

    private static byte[] Disconnect(uint? expirySeconds) => expirySeconds is { } seconds
        ? MqttBytes.Packet(0xE0, [0x00], MqttBytes.VarInt(5), ExpiryProperty(seconds))
        : [0xE0, 0x00];

    [Fact]
    public async Task DisconnectSettingExpiry_AfterZeroOnConnect_IsProtocolError0x82()
    {
        await using var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp);
        var connAck = await raw.ConnectMqttAsync(MqttBytes.Connect(5, "sx-zero", "sxzero", _broker.Token("sxzero")));
        Assert.Equal(0x00, connAck[3]);

        await raw.SendAsync(Disconnect(60));

        var packets = await raw.ReceiveUntilClosedAsync(Timeout);
        Assert.Equal((byte)0x82, MqttBytes.DisconnectReason(Assert.Single(packets)));
    }

    [Fact]
    public async Task DisconnectWithExpiryZero_EndsTheSession_RawAndMqttnet()
    {
        const string topic = "plain/sx/ends";
        await using (var raw = await RawMqttClient.ConnectAsync(_broker, Transport.Tcp))
        {
            var connAck = await raw.ConnectMqttAsync(MqttBytes.Connect(5, "sx-ends", "sxends", _broker.Token("sxends"), cleanSession: false, properties: ExpiryProperty(3600)));
            Assert.Equal(0x00, connAck[3]);
            await raw.SendAsync(MqttBytes.Packet(0x82, [0x00, 0x01], MqttBytes.VarInt(0), MqttBytes.Str(topic), [0x01]));
            Assert.Equal(0x90, (await raw.ReceivePacketAsync(Timeout))![0]); // SUBACK
            await raw.SendAsync(Disconnect(0));
            Assert.True(await raw.IsClosedWithinAsync(Timeout));
        }

        // The session is gone: no subscriber for the topic, and a resume finds no session.
        await using var publisher = await TestDevice.ConnectAsync(_broker, "sxendspub", subscribeInbox: false);
        await Poll.UntilAsync(async () => (await publisher.PublishAsync(topic, "x"u8.ToArray())).ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers,
            "the ended session's subscription is gone", Timeout);
        await using var again = await ReceivingClient.ConnectAsync(_broker, "sxends", "sx-ends", MqttProtocolVersion.V500,
            o => o.WithCleanSession(false).WithSessionExpiryInterval(3600));
        Assert.False(again.ConnectResult.IsSessionPresent);
    }

    [Fact]
    public async Task SessionKept_AfterNormalDisconnect_ResumedWithItsSubscription_Mqttnet()
    {
        const string topic = "plain/sx/kept";
        await using (var device = await ReceivingClient.ConnectAsync(_broker, "sxkept", "sx-kept", MqttProtocolVersion.V500,
            o => o.WithCleanSession(false).WithSessionExpiryInterval(3600)))
        {
            await device.Client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await using var publisher = await TestDevice.ConnectAsync(_broker, "sxkeptpub", subscribeInbox: false);
        Assert.True((await publisher.PublishAsync(topic, "while away"u8.ToArray())).IsSuccess);
        await using var back = await ReceivingClient.ConnectAsync(_broker, "sxkept", "sx-kept", MqttProtocolVersion.V500,
            o => o.WithCleanSession(false).WithSessionExpiryInterval(3600));

        Assert.True(back.ConnectResult.IsSessionPresent);
        Assert.Equal("while away", Encoding.UTF8.GetString((await back.NextAsync(Timeout)).Payload));
    }

    [Fact]
    public async Task PahoMqtt5_DisconnectWithExpiryZero_NextConnectHasNoSession()
    {
        const string script = """
            import sys, threading
            import paho.mqtt.client as mqtt
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            port, token, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            done = threading.Event()
            c = mqtt.Client(client_id="sx-paho", protocol=mqtt.MQTTv5)
            c.username_pw_set("sxpaho", token)
            def on_connect(client, userdata, flags, rc, properties=None):
                print("present=%d" % flags.get("session present", 0), flush=True)
                if mode == "subscribe":
                    client.subscribe("plain/sx/paho", 1)
                else:
                    done.set()
            def on_subscribe(client, userdata, mid, granted, properties=None):
                done.set()
            c.on_connect = on_connect
            c.on_subscribe = on_subscribe
            connect_properties = Properties(PacketTypes.CONNECT)
            connect_properties.SessionExpiryInterval = 3600
            c.connect("127.0.0.1", port, 30, clean_start=False, properties=connect_properties)
            c.loop_start()
            ok = done.wait(15)
            disconnect_properties = Properties(PacketTypes.DISCONNECT)
            disconnect_properties.SessionExpiryInterval = 0
            c.disconnect(properties=disconnect_properties if mode == "subscribe" else None)
            c.loop_stop()
            sys.exit(0 if ok else 3)
            """;
        var first = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("sxpaho"), "subscribe"], Timeout);
        Assert.True(first.ExitCode == 0, first.StdErr + first.StdOut);

        // The deletion follows the DISCONNECT asynchronously: reconnect until the session is reported gone (bounded).
        await Poll.UntilAsync(async () =>
        {
            var next = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("sxpaho"), "check"], Timeout);
            Assert.True(next.ExitCode == 0, next.StdErr + next.StdOut);
            return next.StdOut.Contains("present=0");
        }, "a reconnect finds the session gone", Timeout);
    }
}
