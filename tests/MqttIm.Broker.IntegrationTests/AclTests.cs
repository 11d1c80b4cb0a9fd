using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Auth;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Every denial of DESIGN §4–5, for MQTT 3.1.1 and 5.0.</summary>
public sealed class AclTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    public static TheoryData<MqttProtocolVersion> Versions => new() { MqttProtocolVersion.V311, MqttProtocolVersion.V500 };

    private async Task<MqttClientConnectResult> TryConnectAsync(string user, string password, MqttProtocolVersion version, string? clientId = null)
    {
        // MQTTnet 5 returns a refused CONNACK as a result instead of throwing.
        using var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(TestDevice.Options(_broker, user, password, clientId ?? user + "-dev", version).Build());
        if (client.IsConnected)
        {
            await client.DisconnectAsync();
        }

        return result;
    }

    private string ForeignToken(string user)
    {
        // Same issuer, another secret: a forged token.
        var auth = new AuthOptions { Hs256Secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)), AdminApiKey = "x" };
        return new JwtTokenIssuer(SigningKeys.Load(auth, Path.GetTempPath(), NullLogger.Instance), auth).Issue(user).Token;
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Connect_BadCredentials_BadUserNameOrPassword(MqttProtocolVersion version)
    {
        var user = TestUsers.Unique("alice");
        var expired = _broker.Issuer.Issue(user, TimeSpan.FromSeconds(-120)).Token;
        var cases = new (string User, string Password, string What)[]
        {
            (user, expired, "expired"),
            (user, ForeignToken(user), "forged"),
            (user, "not-a-jwt", "malformed"),
            (user, "", "empty"),
            (user, _broker.Token(TestUsers.Unique("mallory")), "someone else's token"),
            ("bad user!", _broker.Token(user), "invalid username"),
        };

        foreach (var (name, password, what) in cases)
        {
            var result = await TryConnectAsync(name, password, version);
            Assert.True(MqttClientConnectResultCode.BadUserNameOrPassword == result.ResultCode, $"{what}: {result.ResultCode}");
        }

        Assert.Equal(MqttClientConnectResultCode.Success, (await TryConnectAsync(user, _broker.Token(user), version)).ResultCode);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ClientIdOfAnotherUsersSession_IsRefused(MqttProtocolVersion version)
    {
        var (alice, mallory) = (TestUsers.Unique("alice"), TestUsers.Unique("mallory"));
        await using var a = await TestDevice.ConnectAsync(_broker, alice, clientId: alice + "-phone");

        var result = await TryConnectAsync(mallory, _broker.Token(mallory), version, clientId: alice + "-phone");

        Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid, result.ResultCode);
        Assert.True(a.Client.IsConnected);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Subscribe_OutsideOwnInbox_IsDenied(MqttProtocolVersion version)
    {
        var alice = TestUsers.Unique("alice");
        await using var a = await TestDevice.ConnectAsync(_broker, alice, version: version, subscribeInbox: false);
        var denied = new[] { $"inbox/{TestUsers.Unique("bob")}", "inbox/+", "inbox/#", $"im/c2c/{alice}", "im/rpc/sync", "$SYS/#", "presence/x", "device/d1/cmd/#" };

        foreach (var filter in denied)
        {
            var result = await a.Client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            var code = result.Items.Single().ResultCode;
            var expected = version == MqttProtocolVersion.V500 ? MqttClientSubscribeResultCode.NotAuthorized : MqttClientSubscribeResultCode.UnspecifiedError;
            Assert.True(expected == code, $"{filter}: {code}");
        }

        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, (await a.Client.SubscribeAsync($"inbox/{alice}", MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode);
        Assert.True(a.Client.IsConnected);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Publish_OnDownlinkOrReservedTopics_IsDenied_AndNothingIsDelivered(MqttProtocolVersion version)
    {
        var (mallory, bob) = (TestUsers.Unique("mallory"), TestUsers.Unique("bob"));
        await using var m = await TestDevice.ConnectAsync(_broker, mallory, version: version);
        await using var b = await TestDevice.ConnectAsync(_broker, bob);
        var fake = Encoding.UTF8.GetBytes("{\"message\":{\"text\":\"I am your bank\"}}");

        foreach (var topic in new[] { $"inbox/{bob}", $"presence/{bob}", "$SYS/broker", $"im/group/g1", "im/whatever/x" })
        {
            var result = await m.PublishAsync(topic, fake);
            if (version == MqttProtocolVersion.V500)
            {
                Assert.True(result.ReasonCode is MqttClientPublishReasonCode.NotAuthorized or MqttClientPublishReasonCode.TopicNameInvalid, $"{topic}: {result.ReasonCode}");
                Assert.False(string.IsNullOrEmpty(result.ReasonString));
            }
        }

        // Barrier: a message mallory may send arrives after anything her refused publishes could have delivered.
        Assert.Empty(await b.ReceivedBeforeChatMarkerAsync(m));
        Assert.True(m.Client.IsConnected);
    }

    [Fact]
    public async Task C2c_ToInvalidPeerId_IsTopicNameInvalid()
    {
        await using var a = await TestDevice.ConnectAsync(_broker, TestUsers.Unique("alice"));

        var result = await a.SendAsync("no such:user", "hi");

        Assert.Equal(MqttClientPublishReasonCode.TopicNameInvalid, result.ReasonCode);
    }

    [Fact]
    public async Task History_OfSomeoneElsesConversation_IsNotAuthorized()
    {
        var (alice, bob, mallory) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"), TestUsers.Unique("mallory"));
        await using (var a = await TestDevice.ConnectAsync(_broker, alice))
        {
            await a.SendAsync(bob, "secret");
        }

        await using var m = await TestDevice.ConnectAsync(_broker, mallory);
        var conversation = TestUsers.C2c(alice, bob);
        var response = await m.RpcAsync("history", new HistoryRequest { RequestId = "x", ConversationId = conversation }, "x");

        Assert.Equal(RpcResponse.ResultOneofCase.Error, response.ResultCase);
        Assert.Equal("not_authorized", response.Error.Code);

        // Sync only ever lists the caller's own conversations.
        var all = await m.SyncAllAsync();
        Assert.Empty(all);
    }

    [Fact]
    public async Task Rpc_ResponseTopicOutsideOwnInbox_IsNotAuthorized()
    {
        var alice = TestUsers.Unique("alice");
        await using var a = await TestDevice.ConnectAsync(_broker, alice);

        var result = await a.Client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("im/rpc/sync").WithPayload("{}").WithResponseTopic($"inbox/{TestUsers.Unique("bob")}/rpc")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, result.ReasonCode);
    }

    [Fact]
    public async Task Rpc_UnknownMethod_IsTopicNameInvalidWithError()
    {
        var alice = TestUsers.Unique("alice");
        await using var a = await TestDevice.ConnectAsync(_broker, alice);

        var response = await a.RpcAsync("nope", new SyncRequest { RequestId = "n1" }, "n1");

        Assert.Equal("unknown_method", response.Error.Code);
    }
}
