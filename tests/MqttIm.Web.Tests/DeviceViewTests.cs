using System.Text.Json;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>
/// The chat demo's device view and the console's device and command views, with an MQTTnet client acting as the device:
/// it publishes telemetry, receives the page's command and replies to it.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class DeviceViewTests(WebFixture web, ITestOutputHelper output)
{
    /// <summary>A registered device connected with its secret, subscribed to its commands; commands arrive on <see cref="Commands"/>.</summary>
    private sealed class SimulatedDevice : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

        public required string DeviceId { get; init; }

        public Channel<JsonElement> Commands { get; } = Channel.CreateUnbounded<JsonElement>();

        public static async Task<SimulatedDevice> ConnectAsync(BrokerProcess broker, string deviceId, string secret)
        {
            var device = new SimulatedDevice { DeviceId = deviceId };
            // Replies are published outside this handler: MQTTnet processes incoming packets one by one, so awaiting a
            // QoS 1 publish in here would wait for a PUBACK this very loop has to read.
            device._client.ApplicationMessageReceivedAsync += args =>
            {
                device.Commands.Writer.TryWrite(JsonDocument.Parse(args.ApplicationMessage.Payload).RootElement.Clone());
                return Task.CompletedTask;
            };
            var options = TestDevice.Options(broker, deviceId, secret, deviceId, MqttProtocolVersion.V500).Build();
            var connected = await device._client.ConnectAsync(options);
            Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);
            var subscribed = await device._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter($"device/{deviceId}/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True((int)subscribed.Items.Single().ResultCode < 0x80, $"cmd subscription refused: {subscribed.Items.Single().ResultCode}");
            return device;
        }

        public async Task PublishTelemetryAsync(object values)
        {
            var result = await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{DeviceId}/telemetry")
                .WithPayload(JsonSerializer.SerializeToUtf8Bytes(values)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True(result.IsSuccess, $"telemetry refused: {result.ReasonCode} {result.ReasonString}");
        }

        public async Task<JsonElement> NextCommandAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await Commands.Reader.ReadAsync(timeout.Token);
        }

        public async Task ReplyAsync(string commandId, object reply)
        {
            var result = await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{DeviceId}/cmd/{commandId}/reply")
                .WithPayload(JsonSerializer.SerializeToUtf8Bytes(reply)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True(result.IsSuccess, $"reply refused: {result.ReasonCode} {result.ReasonString}");
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }

            _client.Dispose();
        }
    }

    private async Task<SimulatedDevice> RegisterAndConnectAsync(string deviceId, string owner)
    {
        var registered = await web.Broker.AdminPostAsync("/api/admin/devices", new { deviceId, owners = new[] { owner } });
        return await SimulatedDevice.ConnectAsync(web.Broker, deviceId, registered.GetProperty("secret").GetString()!);
    }

    [Fact]
    public async Task The_owner_sees_live_telemetry_sends_a_command_and_sees_it_succeed()
    {
        var alice = TestUsers.Unique("dalice");
        var deviceId = TestUsers.Unique("truck");
        await using var device = await RegisterAndConnectAsync(deviceId, alice);
        await device.PublishTelemetryAsync(new { temp = 21.5, speed = 40 });

        await using var page = await BrowserPage.OpenAsync(web.Browser);
        await page.SignInAsync(web, alice);
        await page.Page.ClickAsync("#modes button[data-mode=devices]");
        var item = page.Page.Locator($"#devices li[data-device={deviceId}]");
        await Expect(item.Locator(".dot")).ToHaveAttributeAsync("data-online", "true");
        await item.ClickAsync();
        await Expect(page.Page.Locator("#device")).ToHaveAttributeAsync("data-online", "true");
        // The stored point (HTTP, the user's own token) is charted, then a live one arrives by the telemetry subscription.
        await Expect(page.Page.Locator("#device")).ToHaveAttributeAsync("data-points", "1");
        await Expect(page.Page.Locator("#device-chart canvas")).ToHaveCountAsync(1);
        await device.PublishTelemetryAsync(new { temp = 22.0, speed = 42 });
        await Expect(page.Page.Locator("#device")).ToHaveAttributeAsync("data-points", "2");
        await Expect(page.Page.Locator("#device-latest")).ToContainTextAsync("\"speed\":42");

        await page.Page.FillAsync("#command-name", "unlock");
        await page.Page.FillAsync("#command-payload", "{\"door\":1}");
        await page.Page.ClickAsync("#command-send");
        var command = await device.NextCommandAsync();
        Assert.Equal("unlock", command.GetProperty("name").GetString());
        Assert.Equal(1, command.GetProperty("payload").GetProperty("door").GetInt32());
        var commandId = command.GetProperty("commandId").GetString()!;
        var row = page.Page.Locator($"#device-commands li[data-command-id=\"{commandId}\"]");
        // Not replied yet: the page shows it open (sent or delivered, by the device's PUBACK), never final.
        await Expect(row).ToHaveAttributeAsync("data-state", new System.Text.RegularExpressions.Regex("^(queued|sent|delivered)$"));

        await device.ReplyAsync(commandId, new { status = "succeeded", result = new { unlocked = true } });
        await Expect(row).ToHaveAttributeAsync("data-state", "succeeded");
        await Expect(row).ToContainTextAsync("delivered → succeeded");
        await Expect(row).ToContainTextAsync("\"unlocked\":true");
        await page.ScreenshotAsync("chat-device-view", output);

        // The device goes away: its retained state topic tells the page at once.
        await device.DisposeAsync();
        await Expect(page.Page.Locator("#device")).ToHaveAttributeAsync("data-online", "false");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task The_device_view_fits_a_390x844_phone()
    {
        var dave = TestUsers.Unique("pdave");
        var deviceId = TestUsers.Unique("meter");
        await using var device = await RegisterAndConnectAsync(deviceId, dave);
        await device.PublishTelemetryAsync(new { watts = 310 });

        await using var phone = await BrowserPage.OpenAsync(web.Browser, LiveRoomViewTests.Phone);
        await phone.SignInAsync(web, dave);
        await phone.Page.TapAsync("#modes button[data-mode=devices]");
        await phone.Page.TapAsync($"#devices li[data-device={deviceId}]");
        await Expect(phone.Page.Locator("#sidebar")).ToBeHiddenAsync();
        await Expect(phone.Page.Locator("#device-chart canvas")).ToHaveCountAsync(1);
        await ChatDemoTests.AssertNoHorizontalScrollAsync(phone.Page);
        await phone.ScreenshotAsync("phone-device-view", output);
        await phone.Page.TapAsync("#device-back");
        await Expect(phone.Page.Locator($"#devices li[data-device={deviceId}]")).ToBeVisibleAsync();
        phone.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task The_console_lists_the_device_its_command_states_and_charts_command_and_push_outcomes()
    {
        var owner = TestUsers.Unique("cowner");
        var offline = TestUsers.Unique("coff");
        var deviceId = TestUsers.Unique("pump");
        await using var device = await RegisterAndConnectAsync(deviceId, owner);

        // An offline recipient with a push token of an app this broker has no credentials for: the push bridge records a
        // no_channel outcome for it (after the merge window), stored per user and counted in mqttim_push_outcomes_total.
        await web.Broker.AdminPostAsync("/api/admin/push/tokens", new { userId = offline, token = new { vendor = "fcm", appId = "demo-app", token = "fcm-demo-token-1", deviceId = "phone-1" } });
        await using var sender = await TestDevice.ConnectAsync(web.Broker, owner);
        var sent = await sender.SendAsync(offline, "are you there?");
        Assert.True(sent.IsSuccess, sent.ReasonString);

        await using var console = await BrowserPage.OpenAsync(web.Browser);
        await console.Page.GotoAsync(web.BaseUrl + "/console/");
        await console.Page.FillAsync("#admin-key", web.Broker.AdminKey);
        await console.Page.PressAsync("#admin-key", "Enter");
        await Expect(console.Page.Locator("#chart-commands canvas")).ToHaveCountAsync(1);
        var issuedBefore = await console.Page.Locator("#m-commands").InnerTextAsync();

        await console.Page.ClickAsync("#tabs button[data-tab=devices]");
        var deviceRow = console.Page.Locator($"#device-rows tr[data-device-id={deviceId}]");
        await Expect(deviceRow).ToContainTextAsync("online");
        await deviceRow.Locator("button", new() { HasText = "Commands" }).ClickAsync();
        await console.Page.FillAsync("#device-command-name", "reboot");
        await console.Page.ClickAsync("#device-command button[type=submit]");
        var command = await device.NextCommandAsync();
        Assert.Equal("reboot", command.GetProperty("name").GetString());
        var commandId = command.GetProperty("commandId").GetString()!;
        await device.ReplyAsync(commandId, new { status = "failed", message = "busy" });
        // The table refreshes while the tab is open: the command reaches its final state there.
        var commandRow = console.Page.Locator($"#command-rows tr[data-command-id=\"{commandId}\"]");
        await Expect(commandRow).ToHaveAttributeAsync("data-state", "failed");
        await Expect(commandRow).ToContainTextAsync("admin");
        await console.ScreenshotAsync("console-device-commands", output);

        await console.Page.ClickAsync("#tabs button[data-tab=push]");
        await Expect(console.Page.Locator("#push-totals tr[data-result=no_channel]")).ToBeVisibleAsync();
        // The counter moves just before the outcome row is written: wait for the row, then ask the page for it.
        using (var http = web.Broker.Http())
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(await http.GetStringAsync($"/api/admin/push/outcomes?userId={offline}")).Contains("no_channel"))
            {
                Assert.True(DateTime.UtcNow < deadline, "no push outcome was stored for the offline user");
                await Task.Delay(100);
            }
        }

        await console.Page.FillAsync("#push-user", offline);
        await console.Page.PressAsync("#push-user", "Enter");
        await Expect(console.Page.Locator("#push-result")).ToContainTextAsync("no_channel");
        await console.ScreenshotAsync("console-push", output);

        // The overview's counters and charts moved with them (commands issued/succeeded, push outcomes).
        await console.Page.ClickAsync("#tabs button[data-tab=overview]");
        await Expect(console.Page.Locator("#m-commands")).Not.ToHaveTextAsync(issuedBefore);
        await Expect(console.Page.Locator("#m-push")).Not.ToHaveTextAsync("0");
        await Expect(console.Page.Locator("#chart-push canvas")).ToHaveCountAsync(1);
        await Expect(console.Page.Locator("#chart-push .u-legend")).ToContainTextAsync("no_channel");
        await console.ScreenshotAsync("console-overview-push-commands", output);
        console.AssertNoConsoleErrors();
    }
}
