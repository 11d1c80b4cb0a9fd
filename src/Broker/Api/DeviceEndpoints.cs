using System.Text.Json;
using Microsoft.Extensions.Options;
using MqttIm.Broker.Api.Devices;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Devices;

namespace MqttIm.Broker.Api;

/// <summary>
/// The device hub over HTTP: <c>/api/admin/devices</c> (admin key: register, list, disable, rotate, delete, owners, tokens) and
/// <c>/api/devices</c> (admin key or a user's token: state, telemetry, commands of the devices the caller may see).
/// </summary>
internal static class DeviceEndpoints
{
    public const int MaxPage = 1000;

    public static IEndpointRouteBuilder MapDeviceEndpoints(this IEndpointRouteBuilder endpoints)
    {
        MapAdmin(endpoints.MapAdminGroup("/api/admin/devices"));
        MapDevices(DeviceCaller.MapCallerGroup(endpoints, "/api/devices"));
        endpoints.MapScheduleEndpoints();
        return endpoints;
    }

    private static void MapAdmin(RouteGroupBuilder admin)
    {
        admin.MapPost("", async (RegisterRequest request, DeviceRegistry registry, DeviceTokens tokens, IOptions<IotOptions> options, CancellationToken ct) =>
        {
            if (!UserIds.IsValid(request.DeviceId))
            {
                return Bad("invalid deviceId", "a device id follows the user id rule: " + UserIds.Rule);
            }

            var owners = request.Owners ?? [];
            if (owners.FirstOrDefault(o => !DeviceRegistry.IsValidOwner(o)) is { } invalid)
            {
                return Bad("invalid owner", $"'{invalid}': {DeviceRegistry.OwnerRule}");
            }

            if (await registry.RegisterAsync(request.DeviceId!, owners, request.TokenOnly == true, ct) is not { } registered)
            {
                return Results.Problem(title: "device exists", detail: $"device {request.DeviceId} is already registered", statusCode: StatusCodes.Status409Conflict);
            }

            return Results.Created($"/api/admin/devices/{request.DeviceId}", new
            {
                deviceId = registered.Device.DeviceId,
                secret = registered.Secret,
                token = request.TokenOnly == true ? tokens.Issue(request.DeviceId!, options.Value.DefaultDeviceTokenLifetime).Token : null,
                owners = registered.Device.Owners,
                createdMs = registered.Device.CreatedMs,
                note = "the secret is shown only now; it is stored as a salted PBKDF2 hash",
            });
        });

        admin.MapGet("", async (string? owner, string? after, int? limit, DeviceRegistry registry, DevicePresence presence, CancellationToken ct) =>
        {
            var devices = await registry.ListAsync(owner is null ? null : [owner], after ?? "", Math.Clamp(limit ?? 100, 1, MaxPage), ct);
            return Results.Ok(devices.Select(d => DeviceViews.Device(d, presence.Get(d.DeviceId))));
        });

        admin.MapGet("/{deviceId}", async (string deviceId, DeviceRegistry registry, DevicePresence presence, CancellationToken ct) =>
            await registry.GetAsync(deviceId, ct) is { } device ? Results.Ok(DeviceViews.Device(device, presence.Get(deviceId))) : NotFound(deviceId));

        admin.MapPost("/{deviceId}/disable", (string deviceId, DeviceRegistry registry, CancellationToken ct) => SetDisabledAsync(registry, deviceId, true, ct));
        admin.MapPost("/{deviceId}/enable", (string deviceId, DeviceRegistry registry, CancellationToken ct) => SetDisabledAsync(registry, deviceId, false, ct));

        admin.MapPost("/{deviceId}/secret", async (string deviceId, DeviceRegistry registry, CancellationToken ct) =>
            await registry.RotateSecretAsync(deviceId, ct) is { } secret
                ? Results.Ok(new { deviceId, secret, note = "the previous secret no longer works" })
                : NotFound(deviceId));

        admin.MapPut("/{deviceId}/owners", async (string deviceId, OwnersRequest request, DeviceRegistry registry, CancellationToken ct) =>
        {
            var owners = request.Owners ?? [];
            if (owners.FirstOrDefault(o => !DeviceRegistry.IsValidOwner(o)) is { } invalid)
            {
                return Bad("invalid owner", $"'{invalid}': {DeviceRegistry.OwnerRule}");
            }

            return await registry.SetOwnersAsync(deviceId, owners, ct) is { } device ? Results.Ok(new { deviceId, owners = device.Owners }) : NotFound(deviceId);
        });

        admin.MapDelete("/{deviceId}", async (string deviceId, DeviceRegistry registry, CancellationToken ct) =>
            await registry.DeleteAsync(deviceId, ct) ? Results.NoContent() : NotFound(deviceId));

        admin.MapPost("/{deviceId}/token", async (string deviceId, TokenRequest? request, DeviceRegistry registry, DeviceTokens tokens, IOptions<IotOptions> options, CancellationToken ct) =>
        {
            if (request?.TtlSeconds is <= 0)
            {
                return Bad("invalid ttlSeconds", "ttlSeconds must be positive");
            }

            if (await registry.GetAsync(deviceId, ct) is null)
            {
                return NotFound(deviceId);
            }

            var token = tokens.Issue(deviceId, request?.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(ttl) : options.Value.DefaultDeviceTokenLifetime);
            return Results.Ok(new { deviceId, token = token.Token, expiresAt = token.ExpiresAt });
        });
    }

    private static void MapDevices(RouteGroupBuilder devices)
    {
        devices.MapGet("", async (HttpContext http, string? after, int? limit, DeviceRegistry registry, DeviceAccess access, DevicePresence presence, CancellationToken ct) =>
        {
            var caller = DeviceCaller.Of(http);
            var principals = caller.IsAdmin ? null : await access.PrincipalsOfAsync(caller.UserId, ct);
            var found = await registry.ListAsync(principals, after ?? "", Math.Clamp(limit ?? 100, 1, MaxPage), ct);
            return Results.Ok(found.Select(d => DeviceViews.Device(d, presence.Get(d.DeviceId))));
        });

        devices.MapGet("/{deviceId}/state", async (HttpContext http, string deviceId, DeviceAccess access, DevicePresence presence, CancellationToken ct) =>
            await DeviceCaller.Of(http).MayAccessAsync(access, deviceId, ct) ? Results.Ok(DeviceViews.State(presence.Get(deviceId))) : DeviceCaller.Forbidden(deviceId));

        devices.MapGet("/{deviceId}/telemetry/latest", async (HttpContext http, string deviceId, DeviceAccess access, MqttIm.ImExtensions.Devices.Storage.ITelemetryStore telemetry, CancellationToken ct) =>
        {
            if (!await DeviceCaller.Of(http).MayAccessAsync(access, deviceId, ct))
            {
                return DeviceCaller.Forbidden(deviceId);
            }

            return await telemetry.GetLatestAsync(deviceId, ct) is { } point
                ? Results.Ok(DeviceViews.Point(point))
                : Results.Problem(title: "no telemetry", detail: $"device {deviceId} has no stored telemetry", statusCode: StatusCodes.Status404NotFound);
        });

        devices.MapGet("/{deviceId}/telemetry", async (HttpContext http, string deviceId, long? fromMs, long? toMs, long? after, int? limit,
            DeviceAccess access, MqttIm.ImExtensions.Devices.Storage.ITelemetryStore telemetry, CancellationToken ct) =>
        {
            if (!await DeviceCaller.Of(http).MayAccessAsync(access, deviceId, ct))
            {
                return DeviceCaller.Forbidden(deviceId);
            }

            var pageSize = Math.Clamp(limit ?? 100, 1, MaxPage);
            var points = await telemetry.QueryAsync(deviceId, fromMs ?? 0, toMs ?? long.MaxValue, after ?? 0, pageSize, ct);
            return Results.Ok(new { deviceId, points = points.Select(DeviceViews.Point), next = points.Count == pageSize ? points[^1].Id : (long?)null });
        });

        devices.MapPost("/{deviceId}/commands", async (HttpContext http, string deviceId, IssueRequest request, DeviceAccess access, CommandService commands,
            IOptions<IotOptions> options, CancellationToken ct) =>
        {
            var caller = DeviceCaller.Of(http);
            if (!await caller.MayAccessAsync(access, deviceId, ct))
            {
                return DeviceCaller.Forbidden(deviceId);
            }

            if (request.WaitSeconds is < 0 || request.WaitSeconds > options.Value.MaxSyncWait.TotalSeconds)
            {
                return Bad("invalid waitSeconds", $"waitSeconds is 0-{options.Value.MaxSyncWait.TotalSeconds}");
            }

            var (command, refusal, reason) = await commands.IssueAsync(deviceId,
                new CommandRequest(request.Name ?? "", request.Payload, request.ExpirySeconds, request.TimeoutSeconds, request.MaxRetries), caller.Name, ct,
                registerWaiter: request.WaitSeconds > 0);
            switch (refusal)
            {
                case CommandRefusal.UnknownDevice:
                    return NotFound(deviceId);
                case CommandRefusal.Invalid:
                    return Bad("invalid command", reason!);
                case CommandRefusal.QueueFull:
                    return Results.Problem(title: "command queue full", detail: reason, statusCode: StatusCodes.Status429TooManyRequests);
            }

            if (request.WaitSeconds is > 0 and var wait)
            {
                var final = await commands.WaitForIssuedAsync(command!, TimeSpan.FromSeconds(wait), ct) ?? command!;
                return final.IsOpen ? Results.Accepted($"/api/devices/{deviceId}/commands/{final.CommandId}", DeviceViews.Command(final)) : Results.Ok(DeviceViews.Command(final));
            }

            return Results.Accepted($"/api/devices/{deviceId}/commands/{command!.CommandId}", DeviceViews.Command(command));
        });

        devices.MapGet("/{deviceId}/commands", async (HttpContext http, string deviceId, long? afterSeq, int? limit, DeviceAccess access, CommandService commands, CancellationToken ct) =>
            await DeviceCaller.Of(http).MayAccessAsync(access, deviceId, ct)
                ? Results.Ok((await commands.ListAsync(deviceId, afterSeq ?? 0, Math.Clamp(limit ?? 100, 1, MaxPage), ct)).Select(DeviceViews.Command))
                : DeviceCaller.Forbidden(deviceId));

        devices.MapGet("/{deviceId}/commands/{commandId}", async (HttpContext http, string deviceId, string commandId, int? waitSeconds, DeviceAccess access, CommandService commands,
            IOptions<IotOptions> options, CancellationToken ct) =>
        {
            if (!await DeviceCaller.Of(http).MayAccessAsync(access, deviceId, ct))
            {
                return DeviceCaller.Forbidden(deviceId);
            }

            var command = waitSeconds is > 0 and var wait
                ? await commands.WaitAsync(commandId, TimeSpan.FromSeconds(Math.Min(wait, options.Value.MaxSyncWait.TotalSeconds)), ct)
                : await commands.GetAsync(commandId, ct);
            return command is not null && command.DeviceId == deviceId
                ? Results.Ok(DeviceViews.Command(command))
                : Results.Problem(title: "no such command", detail: $"device {deviceId} has no command {commandId}", statusCode: StatusCodes.Status404NotFound);
        });

        devices.MapPost("/{deviceId}/commands/{commandId}/cancel", async (HttpContext http, string deviceId, string commandId, DeviceAccess access, CommandService commands, CancellationToken ct) =>
        {
            if (!await DeviceCaller.Of(http).MayAccessAsync(access, deviceId, ct))
            {
                return DeviceCaller.Forbidden(deviceId);
            }

            var existing = await commands.GetAsync(commandId, ct);
            if (existing is null || existing.DeviceId != deviceId)
            {
                return Results.Problem(title: "no such command", detail: $"device {deviceId} has no command {commandId}", statusCode: StatusCodes.Status404NotFound);
            }

            return await commands.CancelAsync(commandId, ct) is { } canceled
                ? Results.Ok(DeviceViews.Command(canceled))
                : Results.Problem(title: "command is final", detail: $"command {commandId} is already {CommandStateNames.Of(existing.State)}", statusCode: StatusCodes.Status409Conflict);
        });
    }

    private static async Task<IResult> SetDisabledAsync(DeviceRegistry registry, string deviceId, bool disabled, CancellationToken ct) =>
        await registry.SetDisabledAsync(deviceId, disabled, ct) is { } device ? Results.Ok(new { deviceId, disabled = device.Disabled }) : NotFound(deviceId);

    private static IResult Bad(string title, string detail) => Results.Problem(title: title, detail: detail, statusCode: StatusCodes.Status400BadRequest);

    private static IResult NotFound(string deviceId) =>
        Results.Problem(title: "no such device", detail: $"device {deviceId} is not registered", statusCode: StatusCodes.Status404NotFound);

    /// <param name="TokenOnly">No secret: the device authenticates with device tokens only (the answer carries one).</param>
    internal sealed record RegisterRequest(string? DeviceId, string[]? Owners, bool? TokenOnly);

    internal sealed record OwnersRequest(string[]? Owners);

    internal sealed record TokenRequest(long? TtlSeconds);

    internal sealed record IssueRequest(string? Name, JsonElement? Payload, int? ExpirySeconds, int? TimeoutSeconds, int? MaxRetries, int? WaitSeconds);
}
