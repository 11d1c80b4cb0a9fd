using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 13 item 11: retained messages and the queue of a persistent session survive <c>kill -9</c> and a restart, with
/// MQTTnet's client, mosquitto_sub and paho (3.1.1 clean session 0, MQTT 5 Session Expiry Interval &gt; 0).
/// </summary>
public sealed class RestartPersistenceTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly BrokerProcess _broker = fixture.Broker;

    private const string PahoScript = """
        import sys, threading
        import paho.mqtt.client as mqtt
        port, client_id, user, token, mode, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
        done = threading.Event()
        got = []
        c = mqtt.Client(client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311)
        c.username_pw_set(user, token)
        def on_connect(client, userdata, flags, rc):
            print("connected rc=%d present=%d" % (rc, flags.get("session present", 0)), flush=True)
            if mode == "subscribe":
                client.subscribe(topic, 1)
            elif count == 0:
                done.set()
        def on_subscribe(client, userdata, mid, granted):
            print("subscribed %s" % (granted,), flush=True)
            done.set()
        def on_message(client, userdata, msg):
            got.append(msg.payload.decode())
            print("message %s %s" % (msg.topic, msg.payload.decode()), flush=True)
            if len(got) >= count:
                done.set()
        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message
        c.connect("127.0.0.1", int(port), 30)
        c.loop_start()
        ok = done.wait(25)
        c.disconnect()
        c.loop_stop()
        sys.exit(0 if ok else 3)
        """;

    [Fact]
    public async Task RetainedMessages_SurviveKill9_ForMqttnetAndMosquittoSubscribers()
    {
        await using (var publisher = await TestDevice.ConnectAsync(_broker, "retainpub", subscribeInbox: false))
        {
            // QoS 0 retained is written in the background; the QoS 1 one after it is acknowledged only once stored, and
            // the writer keeps order, so both are on disk when the second PUBACK arrives.
            await publisher.Client.PublishAsync(Retained("plain/retained/zero", "qos0 value", MqttQualityOfServiceLevel.AtMostOnce));
            await publisher.Client.PublishAsync(Retained("plain/retained/gone", "to be cleared", MqttQualityOfServiceLevel.AtLeastOnce));
            var cleared = await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("plain/retained/gone")
                .WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True(cleared.IsSuccess || cleared.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers, cleared.ReasonCode.ToString());
            var one = await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("plain/retained/one").WithPayload("qos1 value")
                .WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType("text/plain").WithUserProperty("origin", new ReadOnlyMemory<byte>("test"u8.ToArray())).Build());
            Assert.True(one.IsSuccess || one.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers, one.ReasonCode.ToString());
        }

        await _broker.KillAsync();
        await _broker.RestartAsync();

        var sub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");
        var mosquitto = await ProcessRunner.RunAsync(sub,
            ["-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-u", "retainsub", "-P", _broker.Token("retainsub"),
             "-t", "plain/retained/#", "-v", "-C", "2", "-W", "20"], Timeout);
        Assert.True(mosquitto.ExitCode == 0, mosquitto.StdErr + mosquitto.StdOut);
        Assert.Equal(["plain/retained/one qos1 value", "plain/retained/zero qos0 value"],
            mosquitto.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal));

        await using var subscriber = await TestDevice.ConnectAsync(_broker, "retainsub2", subscribeInbox: false);
        await subscriber.Client.SubscribeAsync("plain/retained/one", MqttQualityOfServiceLevel.AtLeastOnce);
        var message = await subscriber.NextAsync(Timeout);
        Assert.True(message.Retain);
        Assert.Equal("qos1 value", Encoding.UTF8.GetString(message.Payload));
        Assert.Equal("text/plain", message.ContentType);
        Assert.Equal("test", message.UserProperties?.Single(p => p.Name == "origin").ReadValueAsString());
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task PersistentSessionQueue_SurvivesKill9_MqttnetClient(MqttProtocolVersion version)
    {
        var user = "persist" + (int)version;
        var clientId = user + "-device";
        var topic = $"plain/queue/{(int)version}";
        await using (var device = await ConnectPersistentAsync(user, clientId, version))
        {
            var granted = await device.Client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, granted.Items.Single().ResultCode);
            await device.Client.DisconnectAsync();
        }

        await using (var publisher = await TestDevice.ConnectAsync(_broker, "queuepub" + (int)version, subscribeInbox: false))
        {
            for (var i = 1; i <= 3; i++)
            {
                var sent = await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"queued {i}"));
                Assert.True(sent.IsSuccess, sent.ReasonCode.ToString());
            }
        }

        await _broker.KillAsync();
        await _broker.RestartAsync();

        // Back without subscribing: the queue arrives in order, and the subscription is there for what comes next.
        await using var back = await ConnectPersistentAsync(user, clientId, version);
        for (var i = 1; i <= 3; i++)
        {
            var message = await back.NextAsync(Timeout);
            Assert.Equal(topic, message.Topic);
            Assert.Equal($"queued {i}", Encoding.UTF8.GetString(message.Payload));
        }

        await using var later = await TestDevice.ConnectAsync(_broker, "queuelater" + (int)version, subscribeInbox: false);
        Assert.True((await later.PublishAsync(topic, "after restart"u8.ToArray())).IsSuccess);
        Assert.Equal("after restart", Encoding.UTF8.GetString((await back.NextAsync(Timeout)).Payload));
    }

    [Fact]
    public async Task PersistentSessionQueue_SurvivesKill9_PahoCleanSession0()
    {
        const string user = "pahopersist";
        const string clientId = "pahopersist-device";
        const string topic = "plain/queue/paho";
        var subscribed = await Paho(clientId, user, "subscribe", topic, 0);
        Assert.True(subscribed.ExitCode == 0, subscribed.StdErr + subscribed.StdOut);
        Assert.Contains("subscribed (1,)", subscribed.StdOut);

        await using (var publisher = await TestDevice.ConnectAsync(_broker, "pahoqueuepub", subscribeInbox: false))
        {
            foreach (var text in new[] { "p1", "p2", "p3" })
            {
                Assert.True((await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(text))).IsSuccess);
            }
        }

        await _broker.KillAsync();
        await _broker.RestartAsync();

        var received = await Paho(clientId, user, "receive", topic, 3);
        Assert.True(received.ExitCode == 0, received.StdErr + received.StdOut);
        Assert.Equal([$"message {topic} p1", $"message {topic} p2", $"message {topic} p3"],
            received.StdOut.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.StartsWith("message ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CleanStart_AfterRestart_DropsThePersistedSession()
    {
        const string user = "persistclean";
        const string clientId = "persistclean-device";
        const string topic = "plain/queue/clean";
        await using (var device = await ConnectPersistentAsync(user, clientId, MqttProtocolVersion.V500))
        {
            await device.Client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await using (var publisher = await TestDevice.ConnectAsync(_broker, "cleanpub", subscribeInbox: false))
        {
            Assert.True((await publisher.PublishAsync(topic, "old"u8.ToArray())).IsSuccess);
        }

        await _broker.KillAsync();
        await _broker.RestartAsync();

        // A clean start discards the old session: the queued message is gone, and so is the subscription (a publish after
        // it reaches no subscriber), while a fresh subscription of its own works.
        await using var fresh = await TestDevice.ConnectAsync(_broker, user, clientId, subscribeInbox: false);
        await using var publisher2 = await TestDevice.ConnectAsync(_broker, "cleanpub2", subscribeInbox: false);
        var noOne = await publisher2.PublishAsync(topic, "nobody"u8.ToArray());
        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, noOne.ReasonCode);
        await fresh.Client.SubscribeAsync("plain/queue/clean2", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.True((await publisher2.PublishAsync("plain/queue/clean2", "new"u8.ToArray())).IsSuccess);
        Assert.Equal("new", Encoding.UTF8.GetString((await fresh.NextAsync(Timeout)).Payload));
    }

    private Task<ReceivingClient> ConnectPersistentAsync(string user, string clientId, MqttProtocolVersion version) =>
        ReceivingClient.ConnectAsync(_broker, user, clientId, version, options =>
        {
            options.WithCleanSession(false);
            if (version == MqttProtocolVersion.V500)
            {
                options.WithSessionExpiryInterval(3600);
            }
        });

    private Task<ProcessRunner.Outcome> Paho(string clientId, string user, string mode, string topic, int count) =>
        ProcessRunner.RunAsync("/usr/bin/python3",
            ["-c", PahoScript, _broker.MqttPort.ToString(), clientId, user, _broker.Token(user), mode, topic, count.ToString()], Timeout);

    private static MqttApplicationMessage Retained(string topic, string payload, MqttQualityOfServiceLevel qos) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag().WithQualityOfServiceLevel(qos).Build();
}
