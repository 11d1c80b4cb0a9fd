using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.Storage.ContractTests.Devices;

/// <summary>Gives each device contract a fresh backend; subclassed once per backend in <c>DeviceStoreBackends.cs</c>.</summary>
public interface IDeviceStoreBackend : IAsyncDisposable
{
    IDeviceStore Devices { get; }

    ITelemetryStore Telemetry { get; }

    ICommandStore Commands { get; }

    IScheduleStore Schedules { get; }
}

/// <summary>What every <see cref="IDeviceStore"/> must do.</summary>
public abstract class DeviceStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    private IDeviceStoreBackend _backend = null!;

    protected abstract Task<IDeviceStoreBackend> CreateBackendAsync();

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private IDeviceStore Devices => _backend.Devices;

    [Fact]
    public async Task Create_OnceOnly_GetAndUpdate()
    {
        var truck = new DeviceRecord("truck-1", "hash-a", false, ["alice", "group:fleet"], 100, 100);
        Assert.True(await Devices.CreateAsync(truck, _ct));
        Assert.False(await Devices.CreateAsync(truck with { SecretHash = "other" }, _ct));

        var stored = await Devices.GetAsync("truck-1", _ct);
        Assert.Equal(("hash-a", false, 100L), (stored!.SecretHash, stored.Disabled, stored.CreatedMs));
        Assert.Equal(["alice", "group:fleet"], stored.Owners);

        Assert.True(await Devices.UpdateAsync(truck with { SecretHash = "hash-b", Disabled = true, Owners = ["bob"], SecretChangedMs = 200 }, _ct));
        stored = await Devices.GetAsync("truck-1", _ct);
        Assert.Equal(("hash-b", true, 200L), (stored!.SecretHash, stored.Disabled, stored.SecretChangedMs));
        Assert.Equal(["bob"], stored.Owners);
        Assert.False(await Devices.UpdateAsync(truck with { DeviceId = "nope" }, _ct));
        Assert.Null(await Devices.GetAsync("nope", _ct));
    }

    [Fact]
    public async Task Delete_RemovesDeviceAndOwnership()
    {
        await Devices.CreateAsync(new DeviceRecord("d1", "h", false, ["alice"], 1, 1), _ct);
        Assert.True(await Devices.DeleteAsync("d1", _ct));
        Assert.False(await Devices.DeleteAsync("d1", _ct));
        Assert.Null(await Devices.GetAsync("d1", _ct));
        Assert.Empty(await Devices.ListAsync(["alice"], "", 10, _ct));
    }

    [Fact]
    public async Task List_PagesInIdOrder_AndFiltersByOwner()
    {
        for (var i = 0; i < 7; i++)
        {
            await Devices.CreateAsync(new DeviceRecord($"d{i}", "h", false, i % 2 == 0 ? ["alice"] : ["group:g1"], 1, 1), _ct);
        }

        var first = await Devices.ListAsync(null, "", 4, _ct);
        var second = await Devices.ListAsync(null, first[^1].DeviceId, 4, _ct);
        Assert.Equal(["d0", "d1", "d2", "d3", "d4", "d5", "d6"], first.Concat(second).Select(d => d.DeviceId));

        Assert.Equal(["d0", "d2", "d4", "d6"], (await Devices.ListAsync(["alice"], "", 10, _ct)).Select(d => d.DeviceId));
        Assert.Equal(7, (await Devices.ListAsync(["alice", "group:g1"], "", 10, _ct)).Count);
        Assert.Empty(await Devices.ListAsync(["mallory"], "", 10, _ct));
        Assert.Empty(await Devices.ListAsync([], "", 10, _ct));
    }
}

/// <summary>What every <see cref="ITelemetryStore"/> must do.</summary>
public abstract class TelemetryStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    private IDeviceStoreBackend _backend = null!;

    protected abstract Task<IDeviceStoreBackend> CreateBackendAsync();

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private ITelemetryStore Telemetry => _backend.Telemetry;

    private static TelemetryPoint Point(string device, long id, long ms, string text = "x") =>
        new(device, id, ms, "gps", "application/json", System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task Append_ThenLatestAndRange_InTimeOrder()
    {
        await Telemetry.AppendAsync([Point("d1", 3, 300), Point("d1", 1, 100, "first"), Point("d2", 2, 200), Point("d1", 2, 200)], _ct);

        var latest = await Telemetry.GetLatestAsync("d1", _ct);
        Assert.Equal((3L, 300L, "gps", "application/json"), (latest!.Id, latest.ReceivedMs, latest.Subtopic, latest.ContentType));
        Assert.Null(await Telemetry.GetLatestAsync("none", _ct));

        var all = await Telemetry.QueryAsync("d1", 0, long.MaxValue, 0, 10, _ct);
        Assert.Equal([1L, 2L, 3L], all.Select(p => p.Id));
        Assert.Equal("first", System.Text.Encoding.UTF8.GetString(all[0].Payload));
        Assert.Equal([2L], (await Telemetry.QueryAsync("d1", 150, 300, 0, 10, _ct)).Select(p => p.Id));
    }

    [Fact]
    public async Task Query_PagesByCursor()
    {
        await Telemetry.AppendAsync(Enumerable.Range(1, 25).Select(i => Point("d1", i, i * 10)).ToList(), _ct);
        var seen = new List<long>();
        long cursor = 0;
        for (var page = 0; page < 10; page++)
        {
            var points = await Telemetry.QueryAsync("d1", 0, long.MaxValue, cursor, 10, _ct);
            if (points.Count == 0)
            {
                break;
            }

            seen.AddRange(points.Select(p => p.Id));
            cursor = points[^1].Id;
        }

        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task DeleteOlderThan_ExpiresOnlyOldPoints()
    {
        await Telemetry.AppendAsync([Point("d1", 1, 100), Point("d1", 2, 200), Point("d2", 3, 150), Point("d2", 4, 250)], _ct);

        Assert.Equal(2, await Telemetry.DeleteOlderThanAsync(200, _ct));

        Assert.Equal([2L], (await Telemetry.QueryAsync("d1", 0, long.MaxValue, 0, 10, _ct)).Select(p => p.Id));
        Assert.Equal([4L], (await Telemetry.QueryAsync("d2", 0, long.MaxValue, 0, 10, _ct)).Select(p => p.Id));
    }
}

/// <summary>What every <see cref="ICommandStore"/> must do.</summary>
public abstract class CommandStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    private IDeviceStoreBackend _backend = null!;

    protected abstract Task<IDeviceStoreBackend> CreateBackendAsync();

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private ICommandStore Commands => _backend.Commands;

    private static CommandDraft Draft(string device, string id) =>
        new(id, device, "unlock", """{"door":1}""", 1000, 99_000, 5000, 1, "admin");

    [Fact]
    public async Task Create_AssignsContiguousSeqPerDevice()
    {
        var a1 = await Commands.CreateAsync(Draft("a", "c1"), 10, _ct);
        var b1 = await Commands.CreateAsync(Draft("b", "c2"), 10, _ct);
        var a2 = await Commands.CreateAsync(Draft("a", "c3"), 10, _ct);

        Assert.Equal((1L, 1L, 2L), (a1!.Seq, b1!.Seq, a2!.Seq));
        var stored = await Commands.GetAsync("c1", _ct);
        Assert.Equal((CommandState.Queued, "unlock", """{"door":1}""", 99_000L, 5000L, 1, "admin"),
            (stored!.State, stored.Name, stored.Payload, stored.ExpiresAtMs, stored.TimeoutMs, stored.MaxRetries, stored.IssuedBy));
        Assert.Equal([CommandState.Queued], stored.History.Select(h => h.State));
        Assert.Null(await Commands.GetAsync("none", _ct));
    }

    [Fact]
    public async Task Create_ConcurrentIssuers_StillContiguous()
    {
        var created = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Commands.CreateAsync(Draft("a", "c" + i), 100, _ct)));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), created.Select(c => c!.Seq).Order());
    }

    [Fact]
    public async Task Create_RefusesBeyondTheOpenBound()
    {
        Assert.NotNull(await Commands.CreateAsync(Draft("a", "c1"), 2, _ct));
        Assert.NotNull(await Commands.CreateAsync(Draft("a", "c2"), 2, _ct));
        Assert.Null(await Commands.CreateAsync(Draft("a", "c3"), 2, _ct));
        Assert.NotNull(await Commands.CreateAsync(Draft("b", "c4"), 2, _ct));

        await Commands.TransitionAsync("c1", [CommandState.Queued], CommandState.Canceled, 2000, null, null, _ct);
        Assert.Equal(3, (await Commands.CreateAsync(Draft("a", "c5"), 2, _ct))!.Seq);
    }

    [Fact]
    public async Task Transition_OnlyFromTheExpectedStates_RecordsHistory()
    {
        await Commands.CreateAsync(Draft("a", "c1"), 10, _ct);

        var sent = await Commands.TransitionAsync("c1", [CommandState.Queued], CommandState.Sent, 2000, null, null, _ct);
        Assert.Equal((CommandState.Sent, 1), (sent!.State, sent.Attempts));
        Assert.Null(await Commands.TransitionAsync("c1", [CommandState.Queued], CommandState.Sent, 2100, null, null, _ct));
        Assert.NotNull(await Commands.TransitionAsync("c1", [CommandState.Sent], CommandState.Delivered, 3000, null, null, _ct));
        var done = await Commands.TransitionAsync("c1", [CommandState.Delivered], CommandState.Succeeded, 4000, "ok", """{"opened":true}""", _ct);
        Assert.Null(await Commands.TransitionAsync("none", [CommandState.Queued], CommandState.Sent, 1, null, null, _ct));

        var stored = await Commands.GetAsync("c1", _ct);
        Assert.Equal((CommandState.Succeeded, """{"opened":true}""", 1), (stored!.State, stored.Result, stored.Attempts));
        Assert.Equal([(CommandState.Queued, 1000L), (CommandState.Sent, 2000L), (CommandState.Delivered, 3000L), (CommandState.Succeeded, 4000L)],
            stored.History.Select(h => (h.State, h.AtMs)));
        Assert.Equal("ok", stored.History[^1].Detail);
        Assert.Equal((CommandState.Succeeded, 4), (done!.State, done.History.Count));
    }

    [Fact]
    public async Task History_KeepsEveryDetailAsWritten()
    {
        // Details come from devices and issuers: quotes, escapes, non-ASCII, null, and one longer than a small buffer.
        string?[] details = ["say \"hi\" \\ now", null, "温度过高 ✓ é", new string('x', 3000) + "\n"];
        await Commands.CreateAsync(Draft("a", "c1"), 10, _ct);
        var states = new[] { CommandState.Sent, CommandState.Delivered, CommandState.Failed, CommandState.Queued };
        for (var i = 0; i < states.Length; i++)
        {
            var from = i == 0 ? CommandState.Queued : states[i - 1];
            Assert.NotNull(await Commands.TransitionAsync("c1", [from], states[i], 2000 + i, details[i], null, _ct));
        }

        var stored = await Commands.GetAsync("c1", _ct);
        Assert.Equal([(CommandState.Queued, 1000L, (string?)null), .. states.Select((state, i) => (state, 2000L + i, details[i]))],
            stored!.History.Select(h => (h.State, h.AtMs, h.Detail)));
    }

    [Fact]
    public async Task Apply_RunsABatchInOrder_LaterWritesSeeEarlierOnes()
    {
        await Commands.CreateAsync(Draft("a", "c0"), 10, _ct);

        var results = await Commands.ApplyAsync(
        [
            new CreateCommandWrite(Draft("a", "c1"), 2),
            new TransitionCommandWrite("c1", [CommandState.Queued], CommandState.Sent, 2000, null, null),
            new CreateCommandWrite(Draft("a", "c2"), 2), // c0 and c1 are open: over the bound
            new TransitionCommandWrite("c1", [CommandState.Queued], CommandState.Canceled, 2100, null, null), // no longer queued
            new TransitionCommandWrite("c1", [CommandState.Sent], CommandState.Delivered, 2200, "PUBACK", null),
            new TransitionCommandWrite("c1", [CommandState.Delivered], CommandState.Succeeded, 2300, null, "true"),
            new CreateCommandWrite(Draft("a", "c3"), 2), // c1 is final now
            new TransitionCommandWrite("none", [CommandState.Queued], CommandState.Sent, 2400, null, null),
            new CreateCommandWrite(Draft("b", "c4"), 2),
        ], _ct);

        Assert.Equal(9, results.Count);
        Assert.Equal((2L, CommandState.Queued), (results[0]!.Seq, results[0]!.State));
        Assert.Equal((CommandState.Sent, 1), (results[1]!.State, results[1]!.Attempts));
        Assert.Null(results[2]);
        Assert.Null(results[3]);
        Assert.Equal(CommandState.Delivered, results[4]!.State);
        Assert.Equal((CommandState.Succeeded, "true"), (results[5]!.State, results[5]!.Result));
        Assert.Equal(3L, results[6]!.Seq);
        Assert.Null(results[7]);
        Assert.Equal(1L, results[8]!.Seq);

        var stored = await Commands.GetAsync("c1", _ct);
        Assert.Equal([(CommandState.Queued, 1000L), (CommandState.Sent, 2000L), (CommandState.Delivered, 2200L), (CommandState.Succeeded, 2300L)],
            stored!.History.Select(h => (h.State, h.AtMs)));
        Assert.Equal(["c0", "c3"], (await Commands.ListOpenAsync("a", 10, _ct)).Select(c => c.CommandId));
        Assert.Empty(await Commands.ApplyAsync([], _ct));
    }

    [Fact]
    public async Task Lists_ByDeviceAndOpen()
    {
        foreach (var (device, id) in new[] { ("a", "c1"), ("b", "c2"), ("a", "c3"), ("a", "c4") })
        {
            await Commands.CreateAsync(Draft(device, id), 10, _ct);
        }

        await Commands.TransitionAsync("c3", [CommandState.Queued], CommandState.Expired, 5, null, null, _ct);

        Assert.Equal(["c3", "c4"], (await Commands.ListByDeviceAsync("a", 1, 10, _ct)).Select(c => c.CommandId));
        Assert.Equal(["c1", "c4"], (await Commands.ListOpenAsync("a", 10, _ct)).Select(c => c.CommandId));
        Assert.Equal(["c1", "c4", "c2"], (await Commands.ListOpenAsync(null, 10, _ct)).Select(c => c.CommandId));
    }
}

/// <summary>What every <see cref="IScheduleStore"/> must do.</summary>
public abstract class ScheduleStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    private IDeviceStoreBackend _backend = null!;

    protected abstract Task<IDeviceStoreBackend> CreateBackendAsync();

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private IScheduleStore Schedules => _backend.Schedules;

    [Fact]
    public async Task Upsert_Get_List_Delete()
    {
        var cron = new CommandSchedule("s1", ["d1", "d2"], "reboot", "{}", "0 0/5 * * * ?", 0, 60, 10);
        var once = new CommandSchedule("s2", ["d3"], "unlock", """{"door":2}""", null, 5000, 30, 11);
        await Schedules.UpsertAsync(cron, _ct);
        await Schedules.UpsertAsync(once, _ct);
        await Schedules.UpsertAsync(cron with { CommandName = "reset" }, _ct);

        var stored = await Schedules.GetAsync("s1", _ct);
        Assert.Equal(("reset", "0 0/5 * * * ?", 60L), (stored!.CommandName, stored.Cron, stored.ExpirySeconds));
        Assert.Equal(["d1", "d2"], stored.DeviceIds);
        var oneOff = await Schedules.GetAsync("s2", _ct);
        Assert.Equal((null, 5000L, """{"door":2}"""), (oneOff!.Cron, oneOff.RunAtMs, oneOff.Payload));
        Assert.Equal(["s1", "s2"], (await Schedules.ListAsync(_ct)).Select(s => s.ScheduleId));

        Assert.True(await Schedules.DeleteAsync("s1", _ct));
        Assert.False(await Schedules.DeleteAsync("s1", _ct));
        Assert.Null(await Schedules.GetAsync("s1", _ct));
    }
}
