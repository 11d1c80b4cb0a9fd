using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary>Quartz schedules of commands: a short cron fires, and fires again after a kill -9 and restart; a one-off fires once.</summary>
public sealed class ScheduleTests
{
    [Fact]
    public async Task Cron_FiresOnTime_AndAgainAfterRestart_OneOffFiresOnce()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var id = "pump-" + Guid.NewGuid().ToString("N")[..8];
        var secret = await broker.RegisterAsync(id, "ops");
        await using (var device = await IotDevice.ConnectAsync(broker, id, secret))
        {
            var cron = await broker.AdminPostAsync("/api/admin/schedules", new { scheduleId = "every2s-" + id, deviceIds = new[] { id }, name = "report", payload = new { full = true }, cron = "0/2 * * * * ?", expirySeconds = 60 });
            Assert.Equal("0/2 * * * * ?", cron.GetProperty("cron").GetString());
            var runAt = DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeMilliseconds();
            await broker.AdminPostAsync("/api/admin/schedules", new { scheduleId = "once-" + id, deviceIds = new[] { id }, name = "unlock", cron = (string?)null, runAtMs = runAt });

            var names = new List<string>();
            while (!(names.Contains("unlock") && names.Count(n => n == "report") >= 2))
            {
                var command = IotDevice.Json((await device.NextAsync(TimeSpan.FromSeconds(15))).ApplicationMessage);
                names.Add(command.GetProperty("name").GetString()!);
                Assert.True(names.Count < 20, string.Join(",", names));
            }

            Assert.Single(names, "unlock");
        }

        await broker.KillAsync();
        await broker.RestartAsync();

        await using var back = await IotDevice.ConnectAsync(broker, id, secret);
        var afterRestart = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (afterRestart.Count(n => n == "report") < 2 && DateTime.UtcNow < deadline)
        {
            var command = IotDevice.Json((await back.NextAsync(TimeSpan.FromSeconds(15))).ApplicationMessage);
            afterRestart.Add(command.GetProperty("name").GetString()!);
            Assert.Equal("schedule:every2s-" + id, (await broker.CommandAsync(id, command.GetProperty("commandId").GetString()!)).GetProperty("issuedBy").GetString() is { } by && by.StartsWith("schedule:", StringComparison.Ordinal) ? by : "");
        }

        Assert.True(afterRestart.Count(n => n == "report") >= 2, string.Join(",", afterRestart));
        Assert.DoesNotContain("unlock", afterRestart);
        using var http = broker.Http();
        var listed = await http.GetJsonAsync("/api/admin/schedules");
        Assert.Equal(["every2s-" + id], listed.EnumerateArray().Select(s => s.GetProperty("scheduleId").GetString()));
    }
}
