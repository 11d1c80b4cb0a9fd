using System.Text.Json;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Devices.Storage;
using Quartz;

namespace MqttIm.ImExtensions.Devices;

/// <summary>What an operator asks for: one command to a list of devices, once at <see cref="RunAtMs"/> or by <see cref="Cron"/>.</summary>
public sealed record ScheduleRequest(string? ScheduleId, string[]? DeviceIds, string? Name, JsonElement? Payload, string? Cron, long? RunAtMs, int? ExpirySeconds);

/// <summary>
/// Command schedules: definitions live in <see cref="IScheduleStore"/> (the durable source of truth) and are registered with
/// Quartz's in-memory scheduler at start-up and when created. Misfires: while running, a late cron fire runs once at once and
/// the schedule proceeds (FireAndProceed), a late one-off fires now (FireNow). Across a restart, fires of a cron schedule
/// that fell into the downtime are not replayed (it resumes at its next time); a one-off whose time passed while the broker
/// was down fires at start-up if it is still within its command expiry, otherwise it is dropped and logged.
/// </summary>
internal sealed class CommandScheduler(IScheduleStore store, ISchedulerFactory schedulers, TimeProvider clock, ILogger<CommandScheduler> logger)
{
    public const string JobGroup = "iot-commands";
    public const int MaxDevices = 10_000;

    public async Task<(CommandSchedule? Schedule, string? Problem)> CreateAsync(ScheduleRequest request, CancellationToken cancellationToken)
    {
        var deviceIds = request.DeviceIds ?? [];
        if (deviceIds.Length is 0 or > MaxDevices || deviceIds.Any(id => !UserIds.IsValid(id)))
        {
            return (null, $"deviceIds: 1-{MaxDevices} device ids ({UserIds.Rule})");
        }

        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > CommandService.MaxNameLength)
        {
            return (null, "name is required, at most 64 characters");
        }

        if ((request.Cron is null) == (request.RunAtMs is null))
        {
            return (null, "give exactly one of cron (Quartz syntax, seconds first: \"0 0/5 * * * ?\") and runAtMs (Unix ms)");
        }

        if (request.Cron is { } cron && !IsValidCron(cron))
        {
            return (null, $"'{cron}' is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week [year])");
        }

        if (request.ScheduleId is { } given && !UserIds.IsValid(given))
        {
            return (null, "scheduleId: " + UserIds.Rule);
        }

        var schedule = new CommandSchedule(request.ScheduleId ?? Guid.NewGuid().ToString("N"), deviceIds, request.Name, request.Payload?.GetRawText() ?? "{}",
            request.Cron, request.RunAtMs ?? 0, request.ExpirySeconds is > 0 and var e ? e : 3600, clock.GetUtcNow().ToUnixTimeMilliseconds());
        await store.UpsertAsync(schedule, cancellationToken).ConfigureAwait(false);
        await RegisterAsync(schedule, cancellationToken).ConfigureAwait(false);
        return (schedule, null);
    }

    public Task<IReadOnlyList<CommandSchedule>> ListAsync(CancellationToken cancellationToken) => store.ListAsync(cancellationToken);

    public async Task<bool> DeleteAsync(string scheduleId, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken).ConfigureAwait(false);
        await scheduler.DeleteJob(new JobKey(scheduleId, JobGroup), cancellationToken).ConfigureAwait(false);
        return await store.DeleteAsync(scheduleId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Registers every stored schedule (start-up), dropping one-offs that can no longer fire.</summary>
    public async Task RegisterAllAsync(CancellationToken cancellationToken)
    {
        foreach (var schedule in await store.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (schedule.Cron is null && clock.GetUtcNow().ToUnixTimeMilliseconds() > schedule.RunAtMs + schedule.ExpirySeconds * 1000)
            {
                DeviceLog.ScheduleInvalid(logger, schedule.ScheduleId, "its time and expiry passed while the broker was down; dropped");
                await store.DeleteAsync(schedule.ScheduleId, cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                await RegisterAsync(schedule, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FormatException or SchedulerException or ArgumentException)
            {
                DeviceLog.ScheduleInvalid(logger, schedule.ScheduleId, ex.Message);
            }
        }
    }

    private async Task RegisterAsync(CommandSchedule schedule, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken).ConfigureAwait(false);
        var job = JobBuilder.Create<CommandScheduleJob>().WithIdentity(schedule.ScheduleId, JobGroup).Build();
        var trigger = schedule.Cron is { } cron
            ? TriggerBuilder.Create(clock).WithIdentity(schedule.ScheduleId, JobGroup)
                .WithCronSchedule(cron, b => b.WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)).Build()
            : TriggerBuilder.Create(clock).WithIdentity(schedule.ScheduleId, JobGroup)
                .StartAt(DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(schedule.RunAtMs, clock.GetUtcNow().ToUnixTimeMilliseconds())))
                .WithSimpleSchedule(b => b.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow)).Build();
        await scheduler.ScheduleJob(job, trigger, ScheduleJobOptions.Replacing, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsValidCron(string cron)
    {
        try
        {
            CronExpression.Parse(cron);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>One fire of a schedule: the command to each of its devices (each gets its own command id and seq).</summary>
internal sealed class CommandScheduleJob(IScheduleStore store, CommandService commands, ILogger<CommandScheduleJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var scheduleId = context.JobDetail.Key.Name;
        if (await store.GetAsync(scheduleId, cancellationToken).ConfigureAwait(false) is not { } schedule)
        {
            return;
        }

        using var payload = JsonDocument.Parse(schedule.Payload);
        var issued = 0;
        foreach (var deviceId in schedule.DeviceIds)
        {
            var (command, _, reason) = await commands.IssueAsync(deviceId,
                new CommandRequest(schedule.CommandName, payload.RootElement, (int)schedule.ExpirySeconds, null, null), "schedule:" + scheduleId, cancellationToken).ConfigureAwait(false);
            if (command is null)
            {
                DeviceLog.ScheduleInvalid(logger, scheduleId, $"device {deviceId}: {reason}");
                continue;
            }

            issued++;
        }

        DeviceLog.ScheduleFired(logger, scheduleId, issued);
        if (schedule.Cron is null)
        {
            await store.DeleteAsync(scheduleId, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Re-registers the stored schedules with Quartz when the broker starts.</summary>
internal sealed class ScheduleLoader(CommandScheduler scheduler) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => scheduler.RegisterAllAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
