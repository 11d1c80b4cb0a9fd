using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.Broker.Api.Devices;

/// <summary><c>/api/admin/schedules</c> (admin key): one-off and cron command schedules for one or many devices.</summary>
internal static class ScheduleEndpoints
{
    public static IEndpointRouteBuilder MapScheduleEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var schedules = endpoints.MapAdminGroup("/api/admin/schedules");
        schedules.MapPost("", async (ScheduleRequest request, CommandScheduler scheduler, CancellationToken ct) =>
        {
            var (schedule, problem) = await scheduler.CreateAsync(request, ct);
            return schedule is null
                ? Results.Problem(title: "invalid schedule", detail: problem, statusCode: StatusCodes.Status400BadRequest)
                : Results.Created($"/api/admin/schedules/{schedule.ScheduleId}", View(schedule));
        });
        schedules.MapGet("", async (CommandScheduler scheduler, CancellationToken ct) => Results.Ok((await scheduler.ListAsync(ct)).Select(View)));
        schedules.MapDelete("/{scheduleId}", async (string scheduleId, CommandScheduler scheduler, CancellationToken ct) =>
            await scheduler.DeleteAsync(scheduleId, ct)
                ? Results.NoContent()
                : Results.Problem(title: "no such schedule", detail: $"schedule {scheduleId} does not exist", statusCode: StatusCodes.Status404NotFound));
        return endpoints;
    }

    private static object View(CommandSchedule schedule) => new
    {
        scheduleId = schedule.ScheduleId,
        deviceIds = schedule.DeviceIds,
        name = schedule.CommandName,
        payload = System.Text.Json.JsonDocument.Parse(schedule.Payload).RootElement.Clone(),
        cron = schedule.Cron,
        runAtMs = schedule.Cron is null ? schedule.RunAtMs : (long?)null,
        expirySeconds = schedule.ExpirySeconds,
        createdMs = schedule.CreatedMs,
    };
}
