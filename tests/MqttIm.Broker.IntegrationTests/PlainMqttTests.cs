using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 13: plain MQTT behaviour MQTTnet 5.2 leaves out, checked with MQTTnet's client and with clients nobody
/// here wrote (Debian's paho-mqtt 1.6 under /usr/bin/python3, mosquitto_sub).
/// </summary>
public sealed class PlainMqttTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly BrokerProcess _broker = fixture.Broker;

    // ---- item 9: empty client id per protocol version ----

    [Theory]
    [InlineData(Transport.Tcp)]
    [InlineData(Transport.WebSocket)]
    public async Task EmptyClientId_Mqtt311WithoutCleanSession_IdentifierRejected(Transport transport)
    {
        // MQTTnet's client and paho both refuse to send this, so it goes out byte by byte.
        await using var raw = await RawMqttClient.ConnectAsync(_broker, transport);
        await raw.SendAsync(MqttBytes.Connect(4, "", "emptyid", _broker.Token("emptyid"), cleanSession: false));

        var packets = await raw.ReceiveUntilClosedAsync(Timeout);

        Assert.Equal([0x20, 0x02, 0x00, 0x02], Assert.Single(packets)); // return code 2: identifier rejected
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task EmptyClientId_CleanSession_Assigned(MqttProtocolVersion version)
    {
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _broker.MqttPort)
            .WithProtocolVersion(version)
            .WithClientId("")
            .WithCleanSession()
            .WithCredentials("emptyid", _broker.Token("emptyid"))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
        using var client = new MqttClientFactory().CreateMqttClient();

        var result = await client.ConnectAsync(options);

        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        if (version == MqttProtocolVersion.V500)
        {
            Assert.False(string.IsNullOrEmpty(result.AssignedClientIdentifier));
        }

        await client.DisconnectAsync();
    }

    [Theory]
    [InlineData("MQTTv311", true, "rc=0")]
    [InlineData("MQTTv5", true, "rc=0 assigned=")]
    public async Task EmptyClientId_Paho(string protocol, bool cleanSession, string expected)
    {
        var script = $$"""
            import sys, threading
            import paho.mqtt.client as mqtt
            done = threading.Event()
            v5 = "{{protocol}}" == "MQTTv5"
            kwargs = dict(client_id="", protocol=mqtt.{{protocol}})
            if not v5:
                kwargs["clean_session"] = {{(cleanSession ? "True" : "False")}}
            c = mqtt.Client(**kwargs)
            c.username_pw_set("pahoempty", sys.argv[2])
            def on_connect(client, userdata, flags, rc, properties=None):
                assigned = getattr(properties, "AssignedClientIdentifier", None) if properties else None
                print("rc=%s%s" % (int(rc) if not hasattr(rc, "value") else rc.value, (" assigned=" + assigned) if assigned else ""), flush=True)
                done.set()
            c.on_connect = on_connect
            c.connect("127.0.0.1", int(sys.argv[1]), 30)
            c.loop_start()
            done.wait(15)
            c.disconnect()
            c.loop_stop()
            """;
        var outcome = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("pahoempty")], Timeout);
        Assert.True(outcome.ExitCode == 0, outcome.StdErr);
        Assert.StartsWith(expected, outcome.StdOut.Trim());
        if (protocol == "MQTTv5")
        {
            Assert.True(outcome.StdOut.Trim().Length > expected.Length, "no Assigned Client Identifier: " + outcome.StdOut);
        }
    }

    // ---- item 10: QoS 2 exactly once ----

    [Theory]
    [InlineData(4, Transport.Tcp)]
    [InlineData(5, Transport.Tcp)]
    [InlineData(4, Transport.WebSocket)]
    [InlineData(5, Transport.WebSocket)]
    public async Task Qos2DuplicateBeforePubrel_DeliveredOnce_ToMqttnetAndMosquittoSubscribers(int level, Transport transport)
    {
        var topic = $"plain/qos2/{level}{transport}".ToLowerInvariant();
        var mosquittoSub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");
        await using var mosquitto = StreamingProcess.Start(mosquittoSub,
            ["-d", "-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-u", "q2sub", "-P", _broker.Token("q2sub"),
             "-t", topic, "-q", "2", "-C", "2", "-W", "20"]);
        await mosquitto.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);
        await using var subscriber = await TestDevice.ConnectAsync(_broker, "q2watch", subscribeInbox: false);
        await subscriber.Client.SubscribeAsync(topic, MqttQualityOfServiceLevel.ExactlyOnce);

        await using var raw = await RawMqttClient.ConnectAsync(_broker, transport);
        var connAck = await raw.ConnectMqttAsync(MqttBytes.Connect(level, $"q2pub-{level}{transport}", "q2pub", _broker.Token("q2pub")));
        Assert.Equal(0x00, connAck[3]);
        var first = MqttBytes.Publish(level, Encoding.UTF8.GetBytes(topic), 2, 9, "one"u8.ToArray());
        await raw.SendAsync(first);
        Assert.Equal(0x50, (await raw.ReceivePacketAsync(Timeout))![0]);
        var duplicate = first.ToArray();
        duplicate[0] |= 0x08; // DUP
        await raw.SendAsync(duplicate);
        Assert.Equal(0x50, (await raw.ReceivePacketAsync(Timeout))![0]); // PUBREC again, as the spec asks
        await raw.SendAsync([0x62, 0x02, 0x00, 0x09]);
        Assert.Equal(0x70, (await raw.ReceivePacketAsync(Timeout))![0]);
        // Released: the same packet id now starts a new message.
        await raw.SendAsync(MqttBytes.Publish(level, Encoding.UTF8.GetBytes(topic), 2, 9, "two"u8.ToArray()));
        Assert.Equal(0x50, (await raw.ReceivePacketAsync(Timeout))![0]);
        await raw.SendAsync([0x62, 0x02, 0x00, 0x09]);
        Assert.Equal(0x70, (await raw.ReceivePacketAsync(Timeout))![0]);

        Assert.Equal("one", Encoding.UTF8.GetString((await subscriber.NextAsync()).Payload));
        Assert.Equal("two", Encoding.UTF8.GetString((await subscriber.NextAsync()).Payload));
        var lines = new[]
        {
            await mosquitto.WaitForLineAsync(l => l is "one" or "two", Timeout),
            await mosquitto.WaitForLineAsync(l => l is "one" or "two", Timeout),
        };
        Assert.Equal(["one", "two"], lines);
    }
}
