using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>A broker with <c>Auth:AllowAnonymous</c> on, anonymous clients limited to <c>public/#</c>.</summary>
public sealed class AnonymousBrokerFixture() : BrokerFixture(
    "--Auth:AllowAnonymous=true", "--Auth:Anonymous:Publish:0=public/#", "--Auth:Anonymous:Subscribe:0=public/#",
    "--Auth:Anonymous:Publish:1=sensors/+/temperature");

/// <summary>
/// Issue 13 item 13: anonymous mode, off by default; when on, anonymous clients get only the plain topics of
/// <c>Auth:Anonymous</c>, never IM, device, room, presence or <c>$</c> topics. With mosquitto clients and MQTTnet's.
/// </summary>
public sealed class AnonymousModeTests(BrokerFixture closed, AnonymousBrokerFixture open) : IClassFixture<BrokerFixture>, IClassFixture<AnonymousBrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static MqttClientOptions AnonymousOptions(BrokerProcess broker, MqttProtocolVersion version, string clientId = "") =>
        new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", broker.MqttPort)
            .WithProtocolVersion(version)
            .WithClientId(clientId)
            .WithCleanSession()
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Anonymous_IsRefused_ByDefault_MqttnetClient(MqttProtocolVersion version)
    {
        using var client = new MqttClientFactory().CreateMqttClient();

        var result = await ConnectOutcomeAsync(client, AnonymousOptions(closed.Broker, version, "anon-default-" + version));

        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, result);
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Anonymous_IsRefused_ByDefault_MosquittoPub(string protocol)
    {
        var pub = ProcessRunner.Require("mosquitto_pub", "mosquitto-clients");

        var outcome = await ProcessRunner.RunAsync(pub,
            ["-h", "127.0.0.1", "-p", closed.Broker.MqttPort.ToString(), "-V", protocol, "-t", "public/x", "-m", "hi", "-q", "1"], Timeout);

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("not authori", (outcome.StdErr + outcome.StdOut).ToLowerInvariant());
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Anonymous_MosquittoPubSub_OnAllowedPlainTopics(string protocol)
    {
        var broker = open.Broker;
        var pub = ProcessRunner.Require("mosquitto_pub", "mosquitto-clients");
        var sub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");
        var topic = $"public/{protocol}/news";
        await using var subscriber = StreamingProcess.Start(sub,
            ["-d", "-h", "127.0.0.1", "-p", broker.MqttPort.ToString(), "-V", protocol, "-t", $"public/{protocol}/#", "-q", "1", "-v", "-C", "2", "-W", "25"]);
        await subscriber.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);
        // An authenticated user reaches the anonymous subscriber on the same plain topic, too.
        await using var user = await TestDevice.ConnectAsync(broker, "anonfeeder", subscribeInbox: false);

        var sent = await ProcessRunner.RunAsync(pub,
            ["-h", "127.0.0.1", "-p", broker.MqttPort.ToString(), "-V", protocol, "-t", topic, "-q", "1", "-m", "from-anonymous"], Timeout);
        Assert.True(sent.ExitCode == 0, sent.StdErr + sent.StdOut);
        var published = await user.PublishAsync(topic, "from-user"u8.ToArray());
        Assert.True(published.IsSuccess, published.ReasonCode.ToString());

        Assert.Equal($"{topic} from-anonymous", await subscriber.WaitForLineAsync(l => l.StartsWith(topic, StringComparison.Ordinal), Timeout));
        Assert.Equal($"{topic} from-user", await subscriber.WaitForLineAsync(l => l.StartsWith(topic, StringComparison.Ordinal), Timeout));
    }

    [Theory]
    [InlineData("inbox/alice")]
    [InlineData("im/c2c/alice")]
    [InlineData("presence/alice")]
    [InlineData("room/lobby")]
    [InlineData("device/truck-1/telemetry/#")]
    [InlineData("$SYS/#")]
    [InlineData("private/x")]
    [InlineData("#")]
    [InlineData("+/x")]
    public async Task Anonymous_MosquittoSub_OutsideItsList_IsDenied(string filter)
    {
        var sub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");

        var outcome = await ProcessRunner.RunAsync(sub,
            ["-d", "-h", "127.0.0.1", "-p", open.Broker.MqttPort.ToString(), "-V", "mqttv5", "-t", filter, "-q", "1", "-W", "20"], Timeout);

        // mosquitto_sub reports a refused filter (granted QoS 0x87) and exits without waiting for messages.
        Assert.Contains("All subscription requests were denied", outcome.StdErr + outcome.StdOut);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Anonymous_MqttnetClient_GetsOnlyItsPlainTopics(MqttProtocolVersion version)
    {
        var broker = open.Broker;
        using var client = new MqttClientFactory().CreateMqttClient();
        var received = System.Threading.Channels.Channel.CreateUnbounded<MqttApplicationMessage>();
        client.ApplicationMessageReceivedAsync += e =>
        {
            received.Writer.TryWrite(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectOutcomeAsync(client, AnonymousOptions(broker, version)));

        var subscribe = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("public/mqttnet/+", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("inbox/alice", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("elsewhere/#", MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        Assert.True(subscribe.Items.ElementAt(0).ResultCode <= MqttClientSubscribeResultCode.GrantedQoS2);
        // MQTT 3.1.1 has one failure code (0x80), MQTT 5 says Not authorized (0x87).
        var refused = version == MqttProtocolVersion.V500 ? MqttClientSubscribeResultCode.NotAuthorized : MqttClientSubscribeResultCode.UnspecifiedError;
        Assert.Equal(refused, subscribe.Items.ElementAt(1).ResultCode);
        Assert.Equal(refused, subscribe.Items.ElementAt(2).ResultCode);

        // Publishing: inside the list (two filters), outside it, and reserved topics.
        var allowed = await client.PublishAsync(Message($"public/mqttnet/{version}", "ok"));
        var sensor = await client.PublishAsync(Message("sensors/s1/temperature", "21.5"));
        var outside = await client.PublishAsync(Message("elsewhere/x", "no"));
        var chat = await client.PublishAsync(Message("im/c2c/alice", "{\"text\":\"hi\"}"));
        var sys = await client.PublishAsync(Message("$SYS/x", "no"));
        if (version == MqttProtocolVersion.V500)
        {
            Assert.True(allowed.IsSuccess || allowed.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers, allowed.ReasonCode.ToString());
            Assert.True(sensor.IsSuccess || sensor.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers, sensor.ReasonCode.ToString());
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, outside.ReasonCode);
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, chat.ReasonCode);
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, sys.ReasonCode);
        }

        // Its own allowed publish comes back; nothing refused was routed (an authenticated watcher of elsewhere/# sees nothing).
        var message = await received.Reader.ReadAsync(new CancellationTokenSource(Timeout).Token);
        Assert.Equal($"public/mqttnet/{version}", message.Topic);
        Assert.Equal("ok", Encoding.UTF8.GetString(message.Payload));
        await using var watcher = await TestDevice.ConnectAsync(broker, "anonwatch" + (int)version, subscribeInbox: false);
        await watcher.Client.SubscribeAsync("elsewhere/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await client.PublishAsync(Message("elsewhere/y", "no"));
        var marker = await watcher.PublishAsync("elsewhere/marker", "m"u8.ToArray());
        Assert.True(marker.IsSuccess, marker.ReasonCode.ToString());
        Assert.Equal("elsewhere/marker", (await watcher.NextAsync(Timeout)).Topic); // the anonymous elsewhere/y never arrived before it

        await client.DisconnectAsync();
    }

    [Fact]
    public async Task Anonymous_CannotUseAUsersClientId_NorAUserAnAnonymousOne()
    {
        var broker = open.Broker;
        await using (await TestDevice.ConnectAsync(broker, "anonowner", clientId: "anonowner-phone", subscribeInbox: false))
        {
        }

        using var anonymous = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid,
            await ConnectOutcomeAsync(anonymous, AnonymousOptions(broker, MqttProtocolVersion.V500, "anonowner-phone")));

        using var first = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectOutcomeAsync(first, AnonymousOptions(broker, MqttProtocolVersion.V500, "anon-sensor-7")));
        await first.DisconnectAsync();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestDevice.ConnectAsync(broker, "anonthief", clientId: "anon-sensor-7", subscribeInbox: false));
        Assert.Contains("ClientIdentifierNotValid", ex.Message + ex.InnerException?.Message);
    }

    private static MqttApplicationMessage Message(string topic, string payload) => new MqttApplicationMessageBuilder()
        .WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    // MQTTnet 5 returns a refused CONNACK as a result instead of throwing.
    private static async Task<MqttClientConnectResultCode> ConnectOutcomeAsync(IMqttClient client, MqttClientOptions options) =>
        (await client.ConnectAsync(options)).ResultCode;
}
