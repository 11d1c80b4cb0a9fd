using System.Text.Json;
using MQTTnet.Formatter;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary>A broker sweeping command expiry and reply timeouts every 100 ms.</summary>
public sealed class CommandBrokerFixture() : BrokerFixture("--Iot:CommandSweepInterval=00:00:00.1", "--Iot:MaxQueuedCommandsPerDevice=5");

/// <summary>Every state path of a command, over real MQTT connections of the device.</summary>
public sealed class CommandTests(CommandBrokerFixture fixture) : IClassFixture<CommandBrokerFixture>
{
    private BrokerProcess Broker => fixture.Broker;

    private async Task<(string Id, string Secret)> NewDeviceAsync()
    {
        var id = "lock-" + Guid.NewGuid().ToString("N")[..8];
        return (id, await Broker.RegisterAsync(id, "ops"));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, "succeeded")]
    [InlineData(MqttProtocolVersion.V311, "succeeded")]
    [InlineData(MqttProtocolVersion.V500, "failed")]
    [InlineData(MqttProtocolVersion.V311, "rejected")]
    public async Task OnlineDevice_Replies_SynchronousCallerGetsTheOutcome(MqttProtocolVersion version, string outcome)
    {
        var (id, secret) = await NewDeviceAsync();
        await using var device = await IotDevice.ConnectAsync(Broker, id, secret, version);
        var replying = Task.Run(async () =>
        {
            var received = await device.NextAsync();
            var command = IotDevice.Json(received.ApplicationMessage);
            Assert.Equal($"device/{id}/cmd/{command.GetProperty("commandId").GetString()}", received.ApplicationMessage.Topic);
            Assert.Equal("unlock", command.GetProperty("name").GetString());
            Assert.Equal(2, command.GetProperty("payload").GetProperty("door").GetInt32());
            Assert.Equal(1, command.GetProperty("seq").GetInt64());
            if (version == MqttProtocolVersion.V500)
            {
                Assert.Equal($"device/{id}/cmd/{command.GetProperty("commandId").GetString()}/reply", received.ApplicationMessage.ResponseTopic);
                Assert.Equal(command.GetProperty("commandId").GetString(), System.Text.Encoding.UTF8.GetString(received.ApplicationMessage.CorrelationData));
            }

            var reply = await device.ReplyAsync(received.ApplicationMessage, $$"""{"status":"{{outcome}}","result":{"opened":{{(outcome == "succeeded" ? "true" : "false")}}},"message":"done"}""");
            Assert.True(reply.IsSuccess, reply.ReasonString);
        });

        var final = await Broker.IssueAsync(id, new { name = "unlock", payload = new { door = 2 }, waitSeconds = 15, timeoutSeconds = 10 });
        await replying;

        Assert.Equal(outcome, final.GetProperty("state").GetString());
        Assert.Equal(["queued", "sent", "delivered", outcome], IotTestKit.StatesOf(final));
        Assert.Equal(outcome == "succeeded", final.GetProperty("result").GetProperty("opened").GetBoolean());
        var times = final.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("atMs").GetInt64()).ToArray();
        Assert.Equal(times.Order(), times);
    }

    [Fact]
    public async Task DeliveredWithoutReply_TimesOut()
    {
        var (id, secret) = await NewDeviceAsync();
        await using var device = await IotDevice.ConnectAsync(Broker, id, secret);
        var issued = await Broker.IssueAsync(id, new { name = "reboot", timeoutSeconds = 1 });
        await device.NextAsync();

        var final = await Broker.WaitForStateAsync(id, issued.GetProperty("commandId").GetString()!, "timed_out");
        Assert.Equal(["queued", "sent", "delivered", "timed_out"], IotTestKit.StatesOf(final));
    }

    [Fact]
    public async Task OfflineDevice_NotDeliveredUntilItConnects_ThenInOrder_AndOnlyAckedIsDelivered()
    {
        var (id, secret) = await NewDeviceAsync();
        var issued = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            issued.Add((await Broker.IssueAsync(id, new { name = "set", payload = new { step = i } })).GetProperty("commandId").GetString()!);
        }

        foreach (var commandId in issued)
        {
            Assert.Equal("queued", (await Broker.CommandAsync(id, commandId)).GetProperty("state").GetString());
        }

        await using var device = await IotDevice.ConnectAsync(Broker, id, secret, autoAck: false);
        var received = new List<MQTTnet.MqttApplicationMessageReceivedEventArgs>();
        for (var i = 0; i < 3; i++)
        {
            received.Add(await device.NextAsync());
        }

        Assert.Equal([1L, 2L, 3L], received.Select(r => IotDevice.Json(r.ApplicationMessage).GetProperty("seq").GetInt64()));
        Assert.Equal(issued, received.Select(r => IotDevice.Json(r.ApplicationMessage).GetProperty("commandId").GetString()));
        // Received but not acknowledged: sent, never delivered.
        Assert.Equal("sent", (await Broker.CommandAsync(id, issued[0])).GetProperty("state").GetString());

        await device.AckAsync(received[0]);
        await Broker.WaitForStateAsync(id, issued[0], "delivered");
        Assert.Equal("sent", (await Broker.CommandAsync(id, issued[1])).GetProperty("state").GetString());
    }

    [Fact]
    public async Task NeverDeliveredBeforeExpiry_Expires_AndCanceledIsNotSent()
    {
        var (id, secret) = await NewDeviceAsync();
        var expiring = (await Broker.IssueAsync(id, new { name = "unlock", expirySeconds = 1 })).GetProperty("commandId").GetString()!;
        var canceled = (await Broker.IssueAsync(id, new { name = "alarm" })).GetProperty("commandId").GetString()!;
        using var http = Broker.Http();
        var (status, body) = await http.PostJsonAsync($"/api/devices/{id}/commands/{canceled}/cancel", null);
        Assert.Equal(200, status);
        Assert.Equal("canceled", body.GetProperty("state").GetString());
        Assert.Equal(409, (await http.PostJsonAsync($"/api/devices/{id}/commands/{canceled}/cancel", null)).Status);

        var expired = await Broker.WaitForStateAsync(id, expiring, "expired");
        Assert.Equal(["queued", "expired"], IotTestKit.StatesOf(expired));

        await using var device = await IotDevice.ConnectAsync(Broker, id, secret);
        var live = (await Broker.IssueAsync(id, new { name = "ping" })).GetProperty("commandId").GetString()!;
        var first = await device.NextAsync();
        Assert.Equal(live, IotDevice.Json(first.ApplicationMessage).GetProperty("commandId").GetString());
        Assert.Equal(3, IotDevice.Json(first.ApplicationMessage).GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task FailedWithRetriesLeft_IsSentAgain_ThenSucceeds()
    {
        var (id, secret) = await NewDeviceAsync();
        await using var device = await IotDevice.ConnectAsync(Broker, id, secret);
        var commandId = (await Broker.IssueAsync(id, new { name = "sync-clock", maxRetries = 1 })).GetProperty("commandId").GetString()!;

        var first = await device.NextAsync();
        await device.ReplyAsync(first.ApplicationMessage, """{"status":"failed","message":"busy"}""");
        var second = await device.NextAsync();
        Assert.Equal(commandId, IotDevice.Json(second.ApplicationMessage).GetProperty("commandId").GetString());
        Assert.Equal(2, IotDevice.Json(second.ApplicationMessage).GetProperty("attempt").GetInt32());
        await device.ReplyAsync(second.ApplicationMessage, """{"status":"succeeded"}""");

        var final = await Broker.WaitForStateAsync(id, commandId, "succeeded");
        Assert.Equal(["queued", "sent", "delivered", "failed", "queued", "sent", "delivered", "succeeded"], IotTestKit.StatesOf(final));
    }

    [Fact]
    public async Task QueueIsBounded_AndOutcomesAreCounted()
    {
        var (id, _) = await NewDeviceAsync();
        for (var i = 0; i < 5; i++)
        {
            await Broker.IssueAsync(id, new { name = "n" + i });
        }

        using var http = Broker.Http();
        Assert.Equal(429, (await http.PostJsonAsync($"/api/devices/{id}/commands", new { name = "overflow" })).Status);
        Assert.Equal(404, (await http.PostJsonAsync("/api/devices/no-such-device/commands", new { name = "x" })).Status);
        Assert.Equal(400, (await http.PostJsonAsync($"/api/devices/{id}/commands", new { name = "" })).Status);

        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("mqttim_device_commands_total{outcome=\"issued\"}", metrics);
    }

    [Fact]
    public async Task Sync_ResendsOpenCommandsAfterASeq()
    {
        var (id, secret) = await NewDeviceAsync();
        await using var device = await IotDevice.ConnectAsync(Broker, id, secret);
        await Broker.IssueAsync(id, new { name = "a", timeoutSeconds = 60 });
        await Broker.IssueAsync(id, new { name = "b", timeoutSeconds = 60 });
        Assert.Equal(1, IotDevice.Json((await device.NextAsync()).ApplicationMessage).GetProperty("seq").GetInt64());
        Assert.Equal(2, IotDevice.Json((await device.NextAsync()).ApplicationMessage).GetProperty("seq").GetInt64());

        // The device lost command 2 (say): it asks for everything after seq 1.
        await device.PublishAsync($"device/{id}/sync", """{"afterSeq":1}""");
        var again = IotDevice.Json((await device.NextAsync()).ApplicationMessage);
        Assert.Equal(("b", 2L), (again.GetProperty("name").GetString(), again.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task Sync_ResendsACommandWhosePubackHasNotCome()
    {
        // A device that has not acknowledged a command (its PUBACK still on its way, or lost with its state) and asks for
        // everything after seq 0 gets it again: sent counts as open, not only delivered.
        var (id, secret) = await NewDeviceAsync();
        await using var device = await IotDevice.ConnectAsync(Broker, id, secret, autoAck: false);
        await Broker.IssueAsync(id, new { name = "open-valve", timeoutSeconds = 60 });
        var first = await device.NextAsync();
        Assert.Equal("sent", (await Broker.CommandAsync(id, IotDevice.Json(first.ApplicationMessage).GetProperty("commandId").GetString()!)).GetProperty("state").GetString());

        Assert.True((await device.PublishAsync($"device/{id}/sync", """{"afterSeq":0}""")).IsSuccess);
        var again = await device.NextAsync();
        Assert.Equal(("open-valve", 1L), (IotDevice.Json(again.ApplicationMessage).GetProperty("name").GetString(), IotDevice.Json(again.ApplicationMessage).GetProperty("seq").GetInt64()));
        await device.AckAsync(first);
        await device.AckAsync(again);
    }
}

/// <summary><c>kill -9</c> with commands queued, in flight (sent, unacknowledged) and delivered awaiting a reply.</summary>
public sealed class CommandCrashTests
{
    [Fact]
    public async Task Kill9_LosesNone_LeavesNoneStuck()
    {
        await using var broker = await BrokerProcess.StartAsync("--Iot:CommandSweepInterval=00:00:00.1");
        var id = "tanker-" + Guid.NewGuid().ToString("N")[..8];
        var secret = await broker.RegisterAsync(id, "ops");
        var awaitingReply = (await broker.IssueAsync(id, new { name = "report", timeoutSeconds = 2 })).GetProperty("commandId").GetString()!;
        var inFlight = (await broker.IssueAsync(id, new { name = "unlock", timeoutSeconds = 30 })).GetProperty("commandId").GetString()!;

        await using (var device = await IotDevice.ConnectAsync(broker, id, secret, autoAck: false))
        {
            await device.AckAsync(await device.NextAsync());
            await broker.WaitForStateAsync(id, awaitingReply, "delivered");
            await device.NextAsync(); // in flight: received, never acknowledged
            Assert.Equal("sent", (await broker.CommandAsync(id, inFlight)).GetProperty("state").GetString());
        }

        using (var admin = broker.Http())
        {
            await Poll.UntilAsync(async () => !(await admin.GetJsonAsync($"/api/devices/{id}/state")).GetProperty("online").GetBoolean(), "the device is offline");
        }

        var queued = (await broker.IssueAsync(id, new { name = "lock", timeoutSeconds = 30 })).GetProperty("commandId").GetString()!;
        Assert.Equal("queued", (await broker.CommandAsync(id, queued)).GetProperty("state").GetString());
        await broker.KillAsync();
        await broker.RestartAsync();

        await using var back = await IotDevice.ConnectAsync(broker, id, secret);
        var resent = new List<JsonElement>();
        for (var i = 0; i < 2; i++)
        {
            resent.Add(IotDevice.Json((await back.NextAsync()).ApplicationMessage));
        }

        Assert.Equal([inFlight, queued], resent.Select(c => c.GetProperty("commandId").GetString()));
        Assert.Equal([2L, 3L], resent.Select(c => c.GetProperty("seq").GetInt64()));
        await back.PublishAsync($"device/{id}/cmd/{inFlight}/reply", """{"status":"succeeded"}""");
        await back.PublishAsync($"device/{id}/cmd/{queued}/reply", """{"status":"succeeded"}""");

        await broker.WaitForStateAsync(id, inFlight, "succeeded");
        await broker.WaitForStateAsync(id, queued, "succeeded");
        var timedOut = await broker.WaitForStateAsync(id, awaitingReply, "timed_out");
        Assert.Equal(["queued", "sent", "delivered", "timed_out"], IotTestKit.StatesOf(timedOut));
        using var http = broker.Http();
        var stuck = (await http.GetJsonAsync($"/api/devices/{id}/commands")).EnumerateArray().Where(c => c.GetProperty("state").GetString() is "queued" or "sent" or "delivered");
        Assert.Empty(stuck);
    }
}
