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
            string? unlockId = null;
            while (!(names.Contains("unlock") && names.Count(n => n == "report") >= 2))
            {
                var command = IotDevice.Json((await device.NextAsync(TimeSpan.FromSeconds(15))).ApplicationMessage);
                names.Add(command.GetProperty("name").GetString()!);
                if (names[^1] == "unlock")
                {
                    unlockId = command.GetProperty("commandId").GetString();
                }

                Assert.True(names.Count < 20, string.Join(",", names));
            }

            Assert.Single(names, "unlock");

            // Before the kill -9, the broker must have stored what this test later relies on: the one-off's PUBACK
            // (a command sent but not yet marked delivered is sent again on the next connect, by design) and the
            // one-off's removal once fired (a one-off still stored at start-up fires again). Killing it before either is stored can make
            // "unlock" arrive twice under load: once live, once after the restart.
            await broker.WaitForStateAsync(id, unlockId!, "delivered", TimeSpan.FromSeconds(30));
            await WaitForSchedulesAsync(broker, ["every2s-" + id]);
        }

        var killedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await broker.KillAsync();
        await broker.RestartAsync();

        // After the restart the device may first get reports fired before the kill and not yet delivered (sent again,
        // as designed); it must then get at least two fresh fires of the cron, and never the one-off again.
        await using var back = await IotDevice.ConnectAsync(broker, id, secret);
        var afterRestart = new List<string>();
        var freshReports = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (freshReports < 2)
        {
            Assert.True(DateTime.UtcNow < deadline && afterRestart.Count < 30, "fewer than two cron fires after the restart: " + string.Join(",", afterRestart));
            var command = IotDevice.Json((await back.NextAsync(TimeSpan.FromSeconds(15))).ApplicationMessage);
            afterRestart.Add(command.GetProperty("name").GetString()!);
            Assert.DoesNotContain("unlock", afterRestart);
            var stored = await broker.CommandAsync(id, command.GetProperty("commandId").GetString()!);
            Assert.Equal("schedule:every2s-" + id, stored.GetProperty("issuedBy").GetString());
            if (stored.GetProperty("createdMs").GetInt64() >= killedAtMs)
            {
                freshReports++;
            }
        }

        await WaitForSchedulesAsync(broker, ["every2s-" + id]);
    }

    /// <summary>Polls the schedule list (bounded) until it is exactly <paramref name="expected"/>.</summary>
    private static async Task WaitForSchedulesAsync(BrokerProcess broker, string[] expected)
    {
        using var http = broker.Http();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (true)
        {
            var listed = (await http.GetJsonAsync("/api/admin/schedules")).EnumerateArray().Select(s => s.GetProperty("scheduleId").GetString()!).Order(StringComparer.Ordinal).ToArray();
            if (listed.SequenceEqual(expected.Order(StringComparer.Ordinal)))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "schedules are " + string.Join(",", listed) + ", expected " + string.Join(",", expected));
            await poll.WaitForNextTickAsync();
        }
    }
}
