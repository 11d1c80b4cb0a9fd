using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary>Device credentials and the device/user ACL on device topics, over MQTT 3.1.1 and 5.</summary>
public sealed class DeviceAuthTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private BrokerProcess Broker => fixture.Broker;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Secret_Works_WrongRotatedAndDisabledAreRefused(MqttProtocolVersion version)
    {
        var id = NewId("truck");
        var secret = await Broker.RegisterAsync(id, "alice");

        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, secret, version));
        Assert.NotEqual(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, "ds_wrong", version));
        Assert.NotEqual(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, NewId("ghost"), secret, version));

        using var http = Broker.Http();
        var (_, rotated) = await http.PostJsonAsync($"/api/admin/devices/{id}/secret", null);
        var newSecret = rotated.GetProperty("secret").GetString()!;
        Assert.NotEqual(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, secret, version));
        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, newSecret, version));

        await using var live = await IotDevice.ConnectAsync(Broker, id, newSecret, version);
        var (status, _) = await http.PostJsonAsync($"/api/admin/devices/{id}/disable", null);
        Assert.Equal(200, status);
        await Poll.UntilAsync(() => !live.Client.IsConnected, "a disabled device's live connection is closed");
        Assert.NotEqual(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, newSecret, version));

        await http.PostJsonAsync($"/api/admin/devices/{id}/enable", null);
        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, newSecret, version));
    }

    [Fact]
    public async Task Mqtt5Connack_NamesWhyADeviceWasRefused_AndAnEmptyClientIdIsAssignedTheDeviceId()
    {
        var id = NewId("gate");
        var secret = await Broker.RegisterAsync(id, "alice");

        async Task<MqttClientConnectResult> ConnectAsync(string clientId, string userName, string password)
        {
            // MQTTnet 5 returns a refused CONNACK as a result instead of throwing.
            using var client = new MqttClientFactory().CreateMqttClient();
            var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", Broker.MqttPort).WithClientId(clientId)
                .WithCredentials(userName, password).WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(15)).Build();
            var result = await client.ConnectAsync(options);
            if (client.IsConnected)
            {
                await client.DisconnectAsync();
            }

            return result;
        }

        var wrongSecret = await ConnectAsync(id, id, "ds_wrong");
        Assert.Equal((MqttClientConnectResultCode.BadUserNameOrPassword, "unknown device or wrong secret"), (wrongSecret.ResultCode, wrongSecret.ReasonString));
        var notAnId = await ConnectAsync("x", "not an id!", secret);
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, notAnId.ResultCode);
        var otherClientId = await ConnectAsync(id + "-2", id, secret);
        Assert.Equal((MqttClientConnectResultCode.ClientIdentifierNotValid, "a device's client id must be its device id"), (otherClientId.ResultCode, otherClientId.ReasonString));

        var assigned = await ConnectAsync("", id, secret);
        Assert.Equal((MqttClientConnectResultCode.Success, id), (assigned.ResultCode, assigned.AssignedClientIdentifier));

        using var http = Broker.Http();
        Assert.Equal(200, (await http.PostJsonAsync($"/api/admin/devices/{id}/disable", null)).Status);
        var disabled = await ConnectAsync(id, id, secret);
        Assert.Equal((MqttClientConnectResultCode.NotAuthorized, "device is disabled"), (disabled.ResultCode, disabled.ReasonString));
    }

    [Fact]
    public async Task DeviceToken_Works_AndIsNoUserToken()
    {
        var id = NewId("cam");
        await Broker.RegisterAsync(id);
        using var http = Broker.Http();
        var (status, body) = await http.PostJsonAsync($"/api/admin/devices/{id}/token", new { ttlSeconds = 600 });
        Assert.Equal(200, status);
        var token = body.GetProperty("token").GetString()!;

        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, token, MqttProtocolVersion.V500));
        // A user's access token for the same name does not make it the device, and a device token is not another device's.
        await using var asUser = await TestDevice.ConnectAsync(Broker, id, clientId: id + "-user", subscribeInbox: false);
        var sub = await asUser.Client.SubscribeAsync($"device/{id}/cmd/#");
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, sub.Items.Single().ResultCode);
        Assert.NotEqual(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, NewId("other"), token, MqttProtocolVersion.V500));
    }

    [Fact]
    public async Task Secret_IsNotStoredInClear()
    {
        var id = NewId("meter");
        var secret = await Broker.RegisterAsync(id);
        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, secret, MqttProtocolVersion.V500));

        // The database file and its write-ahead log, as bytes: the device row is there, the secret is not.
        var files = Directory.GetFiles(Broker.DataDirectory, "mqttim.db*");
        Assert.NotEmpty(files);
        var contents = string.Concat(files.Select(f => Encoding.Latin1.GetString(ReadShared(f))));
        Assert.Contains(id, contents);
        Assert.Contains("pbkdf2-sha256$", contents);
        Assert.DoesNotContain(secret, contents);
        Assert.DoesNotContain(secret["ds_".Length..], contents);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Device_CannotActAsAnother_NorReadTelemetry(MqttProtocolVersion version)
    {
        var mine = NewId("dev");
        var other = NewId("dev");
        var secret = await Broker.RegisterAsync(mine, "alice");
        await Broker.RegisterAsync(other, "alice");
        await using var device = await IotDevice.ConnectAsync(Broker, mine, secret, version);

        foreach (var filter in new[] { $"device/{other}/cmd/#", $"device/{other}/telemetry/#", $"device/{mine}/telemetry/#", "device/+/cmd/#", $"inbox/{mine}" })
        {
            var sub = await device.Client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.True(sub.Items.Single().ResultCode > MqttClientSubscribeResultCode.GrantedQoS2, $"{filter} was granted to a device");
        }

        await device.TelemetryAsync("""{"t":1}""");
        var spoofed = await device.PublishAsync($"device/{other}/telemetry", """{"spoof":true}""");
        var downlink = await device.PublishAsync($"device/{other}/cmd/abc", "{}");
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, spoofed.ReasonCode);
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, downlink.ReasonCode);
        }

        // Whatever the protocol shows, nothing was stored for the other device.
        using var http = Broker.Http();
        var points = await http.GetJsonAsync($"/api/devices/{other}/telemetry");
        Assert.Empty(points.GetProperty("points").EnumerateArray());
        Assert.Single((await http.GetJsonAsync($"/api/devices/{mine}/telemetry")).GetProperty("points").EnumerateArray());
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Users_SeeOnlyGrantedDevices(MqttProtocolVersion version)
    {
        var alice = NewId("alice");
        var bob = NewId("bob");
        var carol = NewId("carol");
        var group = NewId("fleet");
        await Broker.AdminPostAsync("/api/admin/groups", new { groupId = group, name = "Fleet", ownerId = carol, memberIds = new[] { carol } });
        var aliceDevice = NewId("d");
        var groupDevice = NewId("d");
        var secret = await Broker.RegisterAsync(aliceDevice, alice);
        await Broker.RegisterAsync(groupDevice, "group:" + group);

        await using var aliceClient = await TestDevice.ConnectAsync(Broker, alice, version: version, subscribeInbox: false);
        await using var bobClient = await TestDevice.ConnectAsync(Broker, bob, version: version, subscribeInbox: false);
        await using var carolClient = await TestDevice.ConnectAsync(Broker, carol, version: version, subscribeInbox: false);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, (await aliceClient.Client.SubscribeAsync($"device/{aliceDevice}/telemetry/#", MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode);
        Assert.True((await bobClient.Client.SubscribeAsync($"device/{aliceDevice}/telemetry/#", MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode > MqttClientSubscribeResultCode.GrantedQoS2);
        Assert.True((await aliceClient.Client.SubscribeAsync($"device/{groupDevice}/telemetry/#", MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode > MqttClientSubscribeResultCode.GrantedQoS2);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, (await carolClient.Client.SubscribeAsync($"device/{groupDevice}/state", MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode);
        // A plain wildcard is granted (plain topics are allowed) but never carries device data.
        await bobClient.Client.SubscribeAsync("#", MqttQualityOfServiceLevel.AtLeastOnce);

        await using var device = await IotDevice.ConnectAsync(Broker, aliceDevice, secret, version);
        await device.TelemetryAsync("""{"lat":31.2,"lon":121.5}""", "gps");
        var forwarded = await aliceClient.NextAsync();
        Assert.Equal($"device/{aliceDevice}/telemetry/gps", forwarded.Topic);
        Assert.Equal(31.2, IotDevice.Json(forwarded).GetProperty("lat").GetDouble());
        var carolState = await carolClient.NextAsync();
        Assert.Equal($"device/{groupDevice}/state", carolState.Topic);
        // Barrier: bob's own plain publish reaches his wildcard after anything the device's publishes could have.
        var marker = $"{bob}/marker";
        Assert.Empty(await bobClient.ReceivedBeforeAsync(() => bobClient.PublishAsync(marker, [1]), m => m.Topic == marker));

        using var aliceHttp = Broker.UserHttp(alice);
        using var bobHttp = Broker.UserHttp(bob);
        using var carolHttp = Broker.UserHttp(carol);
        Assert.Equal([aliceDevice], (await aliceHttp.GetJsonAsync("/api/devices")).EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()));
        Assert.Equal([groupDevice], (await carolHttp.GetJsonAsync("/api/devices")).EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()));
        Assert.Empty((await bobHttp.GetJsonAsync("/api/devices")).EnumerateArray());
        Assert.Equal(403, (int)(await bobHttp.GetAsync($"/api/devices/{aliceDevice}/telemetry")).StatusCode);
        Assert.Equal(403, (await bobHttp.PostJsonAsync($"/api/devices/{aliceDevice}/commands", new { name = "unlock" })).Status);
        var latest = await aliceHttp.GetJsonAsync($"/api/devices/{aliceDevice}/telemetry/latest");
        Assert.Equal("gps", latest.GetProperty("subtopic").GetString());

        // Users may not publish on device topics at all.
        var publish = await aliceClient.PublishAsync($"device/{aliceDevice}/cmd/x", Encoding.UTF8.GetBytes("{}"));
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, publish.ReasonCode);
        }
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
