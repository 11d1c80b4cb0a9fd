using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet.Formatter;
using MqttIm.DeviceSdk.Devices;
using MqttIm.Testing;

namespace MqttIm.DeviceSdk.Tests;

/// <summary><see cref="DeviceClient"/> against a real broker: command handlers and replies, telemetry batching, offline buffer and reconnect.</summary>
public sealed class DeviceClientTests
{
    private static async Task<(string Id, string Secret)> RegisterAsync(BrokerProcess broker)
    {
        var id = "sdk-" + Guid.NewGuid().ToString("N")[..8];
        var answer = await broker.AdminPostAsync("/api/admin/devices", new { deviceId = id, owners = new[] { "ops" } });
        return (id, answer.GetProperty("secret").GetString()!);
    }

    private static DeviceClientOptions Options(BrokerProcess broker, string id, string secret, MqttProtocolVersion version = MqttProtocolVersion.V500) => new()
    {
        Host = "127.0.0.1",
        Port = broker.MqttPort,
        DeviceId = id,
        Secret = secret,
        ProtocolVersion = version,
        ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromSeconds(1),
    };

    private static async Task<JsonElement> IssueAsync(BrokerProcess broker, string id, object command)
    {
        using var http = broker.Http();
        var response = await http.PostAsJsonAsync($"/api/devices/{id}/commands", command);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task Handlers_ResultIsTheReply_UnknownCommandsAreRejected(MqttProtocolVersion version)
    {
        await using var broker = await BrokerProcess.StartAsync();
        var (id, secret) = await RegisterAsync(broker);
        await using var device = new DeviceClient();
        device.OnCommand("unlock", (command, _) => Task.FromResult(CommandResult.Success(new { door = command.Payload.GetProperty("door").GetInt32(), opened = true })));
        device.OnCommand("selftest", (_, _) => Task.FromResult(CommandResult.Failure("sensor 3 offline")));
        await device.ConnectAsync(Options(broker, id, secret, version));

        var unlocked = await IssueAsync(broker, id, new { name = "unlock", payload = new { door = 4 }, waitSeconds = 15 });
        Assert.Equal("succeeded", unlocked.GetProperty("state").GetString());
        Assert.Equal((4, true), (unlocked.GetProperty("result").GetProperty("door").GetInt32(), unlocked.GetProperty("result").GetProperty("opened").GetBoolean()));

        var failed = await IssueAsync(broker, id, new { name = "selftest", waitSeconds = 15 });
        Assert.Equal("failed", failed.GetProperty("state").GetString());
        var rejected = await IssueAsync(broker, id, new { name = "self-destruct", waitSeconds = 15 });
        Assert.Equal("rejected", rejected.GetProperty("state").GetString());
        Assert.Equal(3, rejected.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task Telemetry_IsBatched_BufferedWhileTheBrokerIsDown_AndSentAfterReconnect()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var (id, secret) = await RegisterAsync(broker);
        await using var device = new DeviceClient();
        await device.ConnectAsync(Options(broker, id, secret));

        for (var i = 0; i < 50; i++)
        {
            device.SendTelemetry(new { i }, "engine");
        }

        await device.FlushAsync(TimeSpan.FromSeconds(30));
        await broker.KillAsync();
        await Poll.UntilAsync(() => !device.IsConnected, "the device noticed the broker is gone");
        for (var i = 50; i < 150; i++)
        {
            device.SendTelemetry(new { i }, "engine");
        }

        Assert.True(device.PendingTelemetry > 0);
        await broker.RestartAsync();
        await device.FlushAsync(TimeSpan.FromSeconds(60));
        Assert.True(device.Reconnects >= 1);

        using var http = broker.Http();
        var seen = new List<int>();
        long after = 0;
        for (var page = 0; page < 10; page++)
        {
            var body = JsonDocument.Parse(await http.GetStringAsync($"/api/devices/{id}/telemetry?limit=100&after={after}")).RootElement;
            var points = body.GetProperty("points").EnumerateArray().ToList();
            seen.AddRange(points.Select(p => p.GetProperty("payload").GetProperty("i").GetInt32()));
            if (body.GetProperty("next").ValueKind == JsonValueKind.Null)
            {
                break;
            }

            after = body.GetProperty("next").GetInt64();
        }

        Assert.Equal(Enumerable.Range(0, 150), seen.Distinct().Order());
        Assert.Equal(0, device.DroppedTelemetry);
    }

    [Fact]
    public void Backoff_GrowsExponentially_WithJitter_UpToTheCap()
    {
        var min = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromSeconds(5);
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var expected = Math.Min(max.TotalMilliseconds, 100 * Math.Pow(2, attempt));
            var delays = Enumerable.Range(0, 50).Select(_ => Backoff.Delay(min, max, attempt).TotalMilliseconds).ToList();
            Assert.All(delays, d => Assert.InRange(d, expected * 0.5, expected * 1.5));
            Assert.True(delays.Distinct().Count() > 1, "jitter varies the delay");
        }
    }
}
