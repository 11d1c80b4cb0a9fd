using MQTTnet;
using MQTTnet.Formatter;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>A broker that grants at most 2 s of keep-alive (Limits:MaxKeepAliveSeconds).</summary>
public sealed class ShortKeepAliveFixture() : BrokerFixture("--Limits:MaxKeepAliveSeconds=2");

/// <summary>
/// Issue 13 item 8: Server Keep Alive is configurable and announced (MQTT 5), and a client that then goes silent is
/// closed for it: MQTT 5 with DISCONNECT 0x8D (Keep Alive timeout). Keep-alive 0 no longer means "never".
/// </summary>
public sealed class KeepAliveTests(ShortKeepAliveFixture fixture) : IClassFixture<ShortKeepAliveFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task ServerKeepAlive_AnnouncedToMqttnetClient()
    {
        var options = TestDevice.Options(_broker, "kaclient", _broker.Token("kaclient"), "kaclient-1").WithKeepAlivePeriod(TimeSpan.Zero).Build();
        using var client = new MqttClientFactory().CreateMqttClient();

        var result = await client.ConnectAsync(options);

        Assert.Equal((ushort)2, result.ServerKeepAlive);
        await client.DisconnectAsync();
    }

    [Fact]
    public async Task ServerKeepAlive_AnnouncedToPaho()
    {
        var script = """
            import sys, threading
            import paho.mqtt.client as mqtt
            done = threading.Event()
            c = mqtt.Client(client_id="kapaho", protocol=mqtt.MQTTv5)
            c.username_pw_set("kapaho", sys.argv[2])
            def on_connect(client, userdata, flags, rc, properties=None):
                print("keepalive=%s" % getattr(properties, "ServerKeepAlive", None), flush=True)
                done.set()
            c.on_connect = on_connect
            c.connect("127.0.0.1", int(sys.argv[1]), keepalive=600)
            c.loop_start()
            done.wait(15)
            c.disconnect()
            c.loop_stop()
            """;
        var outcome = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", script, _broker.MqttPort.ToString(), _broker.Token("kapaho")], TimeSpan.FromSeconds(20));
        Assert.True(outcome.ExitCode == 0, outcome.StdErr);
        Assert.Equal("keepalive=2", outcome.StdOut.Trim());
    }

    [Theory]
    [InlineData(4, Transport.Tcp)]
    [InlineData(5, Transport.Tcp)]
    [InlineData(4, Transport.WebSocket)]
    [InlineData(5, Transport.WebSocket)]
    public async Task SilentClientWithKeepAliveZero_ClosedForKeepAliveTimeout(int level, Transport transport)
    {
        var user = $"silent{level}{transport}".ToLowerInvariant();
        await using var raw = await RawMqttClient.ConnectAsync(_broker, transport);
        var connAck = await raw.ConnectMqttAsync(MqttBytes.Connect(level, user + "-dev", user, _broker.Token(user), keepAlive: 0));
        Assert.Equal(0x00, connAck[3]);

        // 2 s granted; the spec allows 1.5x before closing, MQTTnet's monitor adds up to a second or so.
        var packets = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(15));

        if (level == 5)
        {
            Assert.Equal((byte)0x8D, MqttBytes.DisconnectReason(Assert.Single(packets)));
        }
        else
        {
            Assert.Empty(packets);
        }
    }
}
