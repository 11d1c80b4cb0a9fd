using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.PushBridge.Tests;

/// <summary>
/// IoT alerts through the real broker process: a device publishes on <c>device/{id}/alert</c>; each owner gets a
/// notification, live when online, and through the fake vendor with the alert's priority when no device is online.
/// </summary>
[Collection(PushBrokerCollection.Name)]
public sealed class DeviceAlertPushTests(PushBrokerFixture fixture) : IClassFixture<PushBrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;
    private readonly FakeVendorServer _vendors = fixture.Vendors;

    private static string Token(string prefix) => prefix + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task CriticalAlert_OfflineOwnerIsPushedAsP0ThroughQuietHours_OnlineOwnerGetsItLive_AndIsNotPushed()
    {
        var (paul, quinn, deviceId) = (TestUsers.Unique("paul"), TestUsers.Unique("quin"), TestUsers.Unique("door"));
        var (paulToken, quinnToken) = (Token("p"), Token("q"));
        await _broker.RegisterAsync(paul, "apns", VendorSetup.Bundle, paulToken);
        await _broker.RegisterAsync(quinn, "apns", VendorSetup.Bundle, quinnToken);
        // Paul is inside his quiet hours for the next two hours: only a P0 reaches his phone now.
        var now = DateTime.UtcNow;
        using (var http = _broker.Http())
        {
            var quiet = await http.PutAsJsonAsync($"/api/admin/push/quiet-hours/{paul}",
                new { start = now.AddHours(-2).ToString("HH:mm", CultureInfo.InvariantCulture), end = now.AddHours(2).ToString("HH:mm", CultureInfo.InvariantCulture), timeZone = "UTC" });
            Assert.True(quiet.IsSuccessStatusCode, await quiet.Content.ReadAsStringAsync());
        }

        await using var quinnPhone = await TestDevice.ConnectAsync(_broker, quinn);
        using var device = await ConnectDeviceAsync(deviceId, [paul, quinn]);

        var ack = await PublishAlertAsync(device, deviceId, """{"severity":"critical","title":"Door forced","text":"rear door opened","data":{"door":"rear"}}""");
        Assert.True(ack.IsSuccess, $"{ack.ReasonCode} {ack.ReasonString}");

        // The online owner: live, as a notification in its notify conversation.
        var live = await quinnPhone.NextChatMessageAsync();
        Assert.Equal((MessageKind.Notification, 0, "device_alert", "Door forced", "rear door opened"),
            (live.Kind, live.Priority, live.NotificationType, live.Title, live.Text));
        Assert.Equal((deviceId, "critical", "rear"), (live.Ext["deviceId"], live.Ext["severity"], live.Ext["door"]));

        // The offline owner: pushed, high priority, through his quiet hours (P0 is never held).
        var push = Assert.Single(await _vendors.WaitForAsync(paulToken));
        Assert.Equal(("Door forced", "rear door opened", "10"), (push.Json!["aps"]!["alert"]!["title"]!.GetValue<string>(),
            push.Json["aps"]!["alert"]!["body"]!.GetValue<string>(), push.Headers["apns-priority"]));
        await _broker.WaitForAdminAsync($"/api/admin/push/outcomes?userId={paul}", j => j.GetArrayLength() == 1 && j[0].GetProperty("result").GetString() == "delivered");

        // A warning (P1) alert to paul now waits for the end of his quiet hours instead.
        Assert.True((await PublishAlertAsync(device, deviceId, """{"severity":"warning","text":"door left open"}""")).IsSuccess);
        var pending = await _broker.WaitForAdminAsync($"/api/admin/push/pending?userId={paul}", j => j.GetArrayLength() == 1);
        Assert.True(pending[0].GetProperty("dueMs").GetInt64() > DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeMilliseconds(), pending.ToString());

        // Quinn was online for both: no push job at all (the P0 one would have been sent by the time paul's was).
        Assert.Empty(_vendors.RequestsFor(quinnToken));
        Assert.Empty(await _broker.OutcomesAsync(quinn));
        Assert.Equal(0, (await _broker.AdminGetAsync($"/api/admin/push/pending?userId={quinn}")).GetArrayLength());
    }

    [Fact]
    public async Task InfoAlert_IsAnOrdinaryP2Push_BadAlertsAreRefusedWithReasonCodes()
    {
        var (rita, deviceId) = (TestUsers.Unique("rita"), TestUsers.Unique("temp"));
        var ritaToken = Token("r");
        await _broker.RegisterAsync(rita, "apns", VendorSetup.Bundle, ritaToken);
        using var device = await ConnectDeviceAsync(deviceId, [rita]);

        var notJson = await PublishAlertAsync(device, deviceId, "door!");
        var badSeverity = await PublishAlertAsync(device, deviceId, """{"severity":"apocalyptic","text":"x"}""");
        var info = await PublishAlertAsync(device, deviceId, """{"severity":"info","text":"battery at 20 %"}""");

        Assert.Equal((MqttClientPublishReasonCode.PayloadFormatInvalid, MqttClientPublishReasonCode.PayloadFormatInvalid, MqttClientPublishReasonCode.Success),
            (notJson.ReasonCode, badSeverity.ReasonCode, info.ReasonCode));
        var push = Assert.Single(await _vendors.WaitForAsync(ritaToken));
        Assert.Equal(($"{deviceId}: info", "battery at 20 %", "5"), (push.Json!["aps"]!["alert"]!["title"]!.GetValue<string>(),
            push.Json["aps"]!["alert"]!["body"]!.GetValue<string>(), push.Headers["apns-priority"]));

        // The notification is stored for the owner (sync finds it), whatever happens to the push.
        await using var ritaPhone = await TestDevice.ConnectAsync(_broker, rita);
        var stored = Assert.Single((await ritaPhone.SyncAllAsync())[$"notify:{rita}"]);
        Assert.Equal((2, "battery at 20 %", deviceId), (stored.Priority, stored.Text, stored.Ext["deviceId"]));
    }

    /// <summary>Registers the device (owned by <paramref name="owners"/>) and connects it with its secret, MQTT 5.</summary>
    private async Task<IMqttClient> ConnectDeviceAsync(string deviceId, string[] owners)
    {
        var registered = await _broker.AdminPostAsync("/api/admin/devices", new { deviceId, owners });
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _broker.MqttPort)
            .WithClientId(deviceId)
            .WithCredentials(deviceId, registered.GetProperty("secret").GetString())
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    private static Task<MqttClientPublishResult> PublishAlertAsync(IMqttClient device, string deviceId, string json) =>
        device.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"device/{deviceId}/alert")
            .WithPayload(Encoding.UTF8.GetBytes(json))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
}
