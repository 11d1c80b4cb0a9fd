using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>A persistent session's shared memberships survive <c>kill -9</c> and a restart (issue 13 items 6 and 11).</summary>
public sealed class SharedSubscriptionRestartTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly BrokerProcess _broker = fixture.Broker;

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task PersistentMember_IsStillInItsGroup_AfterKill9AndRestart(MqttProtocolVersion version)
    {
        var user = "sharedrestart" + (int)version;
        var clientId = user + "-device";
        var barrier = $"restart/barrier/{(int)version}";
        var topic = $"restart/shared/{(int)version}";
        await using (var device = await ConnectPersistentAsync(user, clientId, version))
        {
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, (await device.Client.SubscribeAsync("$share/rs/" + topic, MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode);
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, (await device.Client.SubscribeAsync(barrier, MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode);
            await device.Client.DisconnectAsync();
        }

        // A QoS 1 publish that reaches the persistent session is acknowledged once stored, after the subscriptions (one ordered writer).
        await using (var publisher = await TestDevice.ConnectAsync(_broker, "restartpub" + (int)version, subscribeInbox: false))
        {
            Assert.True((await publisher.PublishAsync(barrier, "stored"u8.ToArray())).IsSuccess);
        }

        await _broker.KillAsync();
        await _broker.RestartAsync();

        // Back without subscribing: its queue comes after its subscriptions were given back, the shared one included.
        await using var back = await ConnectPersistentAsync(user, clientId, version);
        Assert.Equal("stored", Encoding.UTF8.GetString((await back.NextAsync(Timeout)).Payload));
        await using var later = await TestDevice.ConnectAsync(_broker, "restartlater" + (int)version, subscribeInbox: false);
        await later.PublishAsync(topic, "shared after restart"u8.ToArray());

        var message = await back.NextAsync(Timeout);
        Assert.Equal(topic, message.Topic);
        Assert.Equal("shared after restart", Encoding.UTF8.GetString(message.Payload));
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
}
