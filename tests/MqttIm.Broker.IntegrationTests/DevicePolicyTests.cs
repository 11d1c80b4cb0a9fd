using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Devices:MaxDevicesPerPlatform: a second phone displaces the first with SessionTakenOver; other platforms and 3.1.1 clients stay.</summary>
public sealed class DevicePolicyTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    private async Task<(IMqttClient Client, Task<MqttClientDisconnectedEventArgs> Disconnected)> ConnectAsync(
        string user, string clientId, string? platform, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var options = TestDevice.Options(_broker, user, _broker.Token(user), clientId, version);
        if (platform is not null)
        {
            options.WithUserProperty("platform", new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(platform)));
        }

        var client = new MqttClientFactory().CreateMqttClient();
        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += args =>
        {
            disconnected.TrySetResult(args);
            return Task.CompletedTask;
        };
        var result = await client.ConnectAsync(options.Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return (client, disconnected.Task);
    }

    [Fact]
    public async Task SecondPhone_DisconnectsTheFirst_WithSessionTakenOver_OthersStay()
    {
        var user = TestUsers.Unique("erin");
        var (oldPhone, oldPhoneGone) = await ConnectAsync(user, user + "-phone1", "phone");
        var (desktop, desktopGone) = await ConnectAsync(user, user + "-desk", "Desktop");
        var (legacy, legacyGone) = await ConnectAsync(user, user + "-legacy", null, MqttProtocolVersion.V311);
        var (newPhone, newPhoneGone) = await ConnectAsync(user, user + "-phone2", "phone");
        using var clients = new DisposeAll(oldPhone, desktop, legacy, newPhone);

        var kicked = await oldPhoneGone.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(MqttClientDisconnectReason.SessionTakenOver, kicked.Reason);
        Assert.Contains("phone", kicked.ReasonString);

        // The others answer a ping afterwards, and none of them was disconnected.
        foreach (var client in new[] { desktop, legacy, newPhone })
        {
            await client.PingAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(client.IsConnected);
        }

        Assert.False(desktopGone.IsCompleted || legacyGone.IsCompleted || newPhoneGone.IsCompleted);
    }

    [Fact]
    public async Task DevicesWithoutPlatform_AreNeverLimited()
    {
        var user = TestUsers.Unique("frank");
        var (first, firstGone) = await ConnectAsync(user, user + "-a", null);
        var (second, secondGone) = await ConnectAsync(user, user + "-b", null, MqttProtocolVersion.V311);
        var (third, _) = await ConnectAsync(user, user + "-c", "");
        using var clients = new DisposeAll(first, second, third);

        await first.PingAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await second.PingAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(firstGone.IsCompleted || secondGone.IsCompleted);
    }

    [Fact]
    public async Task WebAllowsThree_TheFourthDisplacesTheOldest()
    {
        var user = TestUsers.Unique("gina");
        var web = new List<(IMqttClient Client, Task<MqttClientDisconnectedEventArgs> Gone)>();
        for (var i = 0; i < 4; i++)
        {
            web.Add(await ConnectAsync(user, $"{user}-web{i}", "web"));
        }

        using var clients = new DisposeAll([.. web.Select(w => w.Client)]);

        Assert.Equal(MqttClientDisconnectReason.SessionTakenOver, (await web[0].Gone.WaitAsync(TimeSpan.FromSeconds(10))).Reason);
        foreach (var (client, gone) in web.Skip(1))
        {
            await client.PingAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.False(gone.IsCompleted);
        }
    }

    private sealed class DisposeAll(params IMqttClient[] clients) : IDisposable
    {
        public void Dispose()
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
