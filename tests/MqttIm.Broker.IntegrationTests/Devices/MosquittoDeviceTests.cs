using System.Text.Json;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary>mosquitto_pub / mosquitto_sub acting as a device, exactly as in the README walk-through.</summary>
public sealed class MosquittoDeviceTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task MosquittoClients_AsADevice_Telemetry_CommandAndReply(string protocol)
    {
        var broker = fixture.Broker;
        var pub = ProcessRunner.Require("mosquitto_pub", "mosquitto-clients");
        var sub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");
        var port = broker.MqttPort.ToString();
        var owner = "ops-" + protocol;
        var truck = "truck-" + protocol;
        var secret = await broker.RegisterAsync(truck, owner);

        // The owner watches the truck's telemetry (a user, with an access token).
        await using var watcher = StreamingProcess.Start(sub,
            ["-d", "-h", "127.0.0.1", "-p", port, "-V", protocol, "-i", owner + "-console", "-u", owner, "-P", broker.Token(owner),
             "-t", $"device/{truck}/telemetry/#", "-q", "1", "-v", "-C", "1", "-W", "25"]);
        await watcher.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);

        // 1. The truck sends telemetry: the PUBACK comes once it is stored.
        var sent = await ProcessRunner.RunAsync(pub,
            ["-h", "127.0.0.1", "-p", port, "-V", protocol, "-i", truck, "-u", truck, "-P", secret, "-q", "1",
             "-t", $"device/{truck}/telemetry/gps", "-m", """{"lat":31.23,"lon":121.47}"""], Timeout);
        Assert.True(sent.ExitCode == 0, sent.StdErr);
        Assert.Equal($"device/{truck}/telemetry/gps " + """{"lat":31.23,"lon":121.47}""",
            await watcher.WaitForLineAsync(l => l.StartsWith("device/", StringComparison.Ordinal), Timeout));

        // 2. The truck listens for one command.
        await using var device = StreamingProcess.Start(sub,
            ["-d", "-h", "127.0.0.1", "-p", port, "-V", protocol, "-i", truck, "-u", truck, "-P", secret,
             "-t", $"device/{truck}/cmd/#", "-q", "1", "-v", "-C", "1", "-W", "25"]);
        await device.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);
        var issued = await broker.IssueAsync(truck, new { name = "unlock", payload = new { door = 1 }, timeoutSeconds = 30 });
        var commandId = issued.GetProperty("commandId").GetString()!;
        var line = await device.WaitForLineAsync(l => l.StartsWith($"device/{truck}/cmd/", StringComparison.Ordinal), Timeout);
        Assert.StartsWith($"device/{truck}/cmd/{commandId} ", line);
        var command = JsonDocument.Parse(line[(line.IndexOf(' ') + 1)..]).RootElement;
        Assert.Equal(("unlock", 1L), (command.GetProperty("name").GetString(), command.GetProperty("seq").GetInt64()));
        await broker.WaitForStateAsync(truck, commandId, "delivered");

        // 3. The truck replies.
        var replied = await ProcessRunner.RunAsync(pub,
            ["-h", "127.0.0.1", "-p", port, "-V", protocol, "-i", truck, "-u", truck, "-P", secret, "-q", "1",
             "-t", $"device/{truck}/cmd/{commandId}/reply", "-m", """{"status":"succeeded","result":{"locked":false}}"""], Timeout);
        Assert.True(replied.ExitCode == 0, replied.StdErr);
        var final = await broker.WaitForStateAsync(truck, commandId, "succeeded");
        Assert.False(final.GetProperty("result").GetProperty("locked").GetBoolean());

        // Another device's commands are not for this one.
        var denied = await ProcessRunner.RunAsync(sub,
            ["-h", "127.0.0.1", "-p", port, "-V", protocol, "-i", truck, "-u", truck, "-P", secret, "-t", "device/other/cmd/#", "-C", "1", "-W", "3"], Timeout);
        Assert.Contains("denied", denied.StdErr + denied.StdOut, StringComparison.OrdinalIgnoreCase);
    }
}
