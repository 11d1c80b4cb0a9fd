using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Clients nobody here wrote: Debian's mosquitto_pub / mosquitto_sub / mosquitto_rr, as in the README walk-through.</summary>
public sealed class MosquittoInteropTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task MosquittoPub_JsonChat_ReachesMosquittoSub_WithSeq(string protocol)
    {
        var pub = ProcessRunner.Require("mosquitto_pub", "mosquitto-clients");
        var sub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");
        var (alice, bob) = ($"mqa{protocol}", $"mqb{protocol}");

        // mosquitto_sub waits for 2 messages (-C 2) on bob's inbox; -W bounds it in time; -d tells when the SUBACK is in.
        await using var subscriber = StreamingProcess.Start(sub,
            ["-d", "-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-V", protocol, "-i", bob + "-sub", "-u", bob, "-P", _broker.Token(bob),
             "-t", $"inbox/{bob}", "-q", "1", "-C", "2", "-W", "20"]);
        await subscriber.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);

        // No client id (-i) on the publisher: MQTT 3.1.1 and 5 both let the server assign one.
        foreach (var text in new[] { "hi", "second" })
        {
            var sent = await ProcessRunner.RunAsync(pub,
                ["-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-V", protocol, "-u", alice, "-P", _broker.Token(alice),
                 "-t", $"im/c2c/{bob}", "-q", "1", "-m", $"{{\"text\":\"{text}\"}}"], Timeout);
            Assert.True(sent.ExitCode == 0, sent.StdErr);
        }

        var lines = new List<string>
        {
            await subscriber.WaitForLineAsync(l => l.StartsWith('{'), Timeout),
            await subscriber.WaitForLineAsync(l => l.StartsWith('{'), Timeout),
        };
        var events = lines.Select(l => Google.Protobuf.JsonParser.Default.Parse<InboxEvent>(l)).ToList();
        Assert.Equal(["hi", "second"], events.Select(e => e.Message.Text));
        Assert.Equal([1L, 2], events.Select(e => e.Message.Seq));
        Assert.All(events, e => Assert.Equal(alice, e.Message.SenderId));
    }

    [Fact]
    public async Task MosquittoRr_SyncRpc_ReturnsTheConversation()
    {
        var rr = ProcessRunner.Require("mosquitto_rr", "mosquitto-clients");
        var (alice, bob) = ("rralice", "rrbob");
        await using (var a = await TestDevice.ConnectAsync(_broker, alice))
        {
            await a.SendAsync(bob, "for sync");
        }

        var outcome = await ProcessRunner.RunAsync(rr,
            ["-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-V", "mqttv5", "-i", bob + "-rr", "-u", bob, "-P", _broker.Token(bob),
             "-t", "im/rpc/sync", "-e", $"inbox/{bob}/rpc", "-m", "{}", "-W", "20"], Timeout);

        Assert.True(outcome.ExitCode == 0, outcome.StdErr);
        var response = Google.Protobuf.JsonParser.Default.Parse<RpcResponse>(outcome.StdOut.Trim());
        var conversation = Assert.Single(response.Sync.Conversations);
        Assert.Equal("c2c:rralice:rrbob", conversation.ConversationId);
        Assert.Equal("for sync", Assert.Single(conversation.Messages).Text);
    }

    [Fact]
    public async Task MosquittoClients_PlainTopic_RelayAndAclDenial()
    {
        var pub = ProcessRunner.Require("mosquitto_pub", "mosquitto-clients");
        var sub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");

        await using var subscriber = StreamingProcess.Start(sub,
            ["-d", "-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-i", "plainsub", "-u", "plainsub", "-P", _broker.Token("plainsub"),
             "-t", "sensors/+/temp", "-v", "-C", "1", "-W", "20"]);
        await subscriber.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);
        var sent = await ProcessRunner.RunAsync(pub,
            ["-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-i", "plainpub", "-u", "plainpub", "-P", _broker.Token("plainpub"),
             "-t", "sensors/kitchen/temp", "-m", "21.5"], Timeout);
        Assert.Equal(0, sent.ExitCode);

        Assert.Equal("sensors/kitchen/temp 21.5", await subscriber.WaitForLineAsync(l => l.StartsWith("sensors/", StringComparison.Ordinal), Timeout));

        // Someone else's inbox: mosquitto_sub reports the refused subscription.
        var denied = await ProcessRunner.RunAsync(sub,
            ["-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-V", "mqttv5", "-i", "snoop", "-u", "snoop", "-P", _broker.Token("snoop"),
             "-t", "inbox/victim", "-C", "1", "-W", "5"], Timeout);
        Assert.Contains("denied", denied.StdErr + denied.StdOut, StringComparison.OrdinalIgnoreCase);
    }
}
