using MqttIm.ImExtensions.Auth;
using MqttIm.PushBridge.Jobs;
using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.Broker.Api;

/// <summary>
/// Push tokens and outcomes over HTTP. Per user (<c>Authorization: Bearer</c> = that user's access token):
/// <c>/api/users/{userId}/push/tokens</c> (GET, POST, DELETE) and <c>…/push/quiet-hours</c> (PUT). Admin (X-Admin-Key):
/// <c>/api/admin/push/tokens</c>, <c>…/outcomes</c>, <c>…/pending</c>, <c>…/quiet-hours/{userId}</c>.
/// </summary>
internal static class PushEndpoints
{
    public static IEndpointRouteBuilder MapPushEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var user = endpoints.MapGroup("/api/users/{userId}/push").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var userId = http.GetRouteValue("userId") as string ?? "";
            var header = http.Request.Headers.Authorization.ToString();
            var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : "";
            var refused = UserIds.IsValid(userId) ? await http.RequestServices.GetRequiredService<JwtTokenValidator>().ValidateAsync(userId, token) : "invalid user id";
            return refused is null
                ? await next(context)
                : Results.Problem(title: "not authorized", detail: $"send the user's access token as Authorization: Bearer ({refused})", statusCode: StatusCodes.Status401Unauthorized);
        });
        user.MapGet("/tokens", async (string userId, PushTokenRegistry registry, CancellationToken ct) => Results.Ok(Describe(await registry.GetAsync(userId, ct))));
        user.MapPost("/tokens", (string userId, RegisterBody body, PushTokenRegistry registry, CancellationToken ct) => RegisterAsync(userId, body, registry, ct));
        user.MapDelete("/tokens", (string userId, string? vendor, string? token, string? deviceId, PushTokenRegistry registry, CancellationToken ct) =>
            UnregisterAsync(userId, vendor, token, deviceId, registry, ct));
        user.MapPut("/quiet-hours", (string userId, QuietHoursBody body, PushTokenRegistry registry, CancellationToken ct) => SetQuietHoursAsync(userId, body, registry, ct));

        var admin = endpoints.MapAdminGroup("/api/admin/push");
        admin.MapGet("/tokens", async (string? userId, PushTokenRegistry registry, CancellationToken ct) =>
            UserIds.IsValid(userId ?? "") ? Results.Ok(Describe(await registry.GetAsync(userId!, ct))) : InvalidUser());
        admin.MapPost("/tokens", (AdminRegisterBody body, PushTokenRegistry registry, CancellationToken ct) =>
            UserIds.IsValid(body.UserId ?? "") ? RegisterAsync(body.UserId!, body.Token ?? new RegisterBody(), registry, ct) : Task.FromResult(InvalidUser()));
        admin.MapDelete("/tokens", (string? userId, string? vendor, string? token, string? deviceId, PushTokenRegistry registry, CancellationToken ct) =>
            UserIds.IsValid(userId ?? "") ? UnregisterAsync(userId!, vendor, token, deviceId, registry, ct) : Task.FromResult(InvalidUser()));
        admin.MapPut("/quiet-hours/{userId}", (string userId, QuietHoursBody body, PushTokenRegistry registry, CancellationToken ct) =>
            UserIds.IsValid(userId) ? SetQuietHoursAsync(userId, body, registry, ct) : Task.FromResult(InvalidUser()));
        admin.MapGet("/outcomes", async (string? userId, string? messageId, int? limit, IPushOutcomeStore outcomes, CancellationToken ct) =>
        {
            if (!string.IsNullOrEmpty(messageId))
            {
                return Results.Ok(await outcomes.GetForMessageAsync(messageId, ct));
            }

            return UserIds.IsValid(userId ?? "")
                ? Results.Ok(await outcomes.GetForUserAsync(userId!, Math.Clamp(limit ?? 100, 1, 1000), ct))
                : Results.Problem(title: "userId or messageId required", detail: "pass userId=… (newest first, limit ≤ 1000) or messageId=…", statusCode: StatusCodes.Status400BadRequest);
        });
        admin.MapGet("/pending", async (string? userId, IPushJobStore jobs, CancellationToken ct) =>
            Results.Ok(string.IsNullOrEmpty(userId) ? await jobs.GetAllAsync(ct) : await jobs.GetForUserAsync(userId, ct)));
        return endpoints;
    }

    private static async Task<IResult> RegisterAsync(string userId, RegisterBody body, PushTokenRegistry registry, CancellationToken ct)
    {
        var registration = new PushRegistration(body.Vendor ?? "", body.AppId ?? "", body.Token ?? "", body.Environment ?? "", body.Locale ?? "",
            body.Privacy ?? false, body.Preference ?? 0, body.DeviceId ?? "");
        if (registry.Validate(registration) is { } error)
        {
            return Results.Problem(title: "invalid push token", detail: error, statusCode: StatusCodes.Status400BadRequest);
        }

        await registry.RegisterAsync(userId, registration, ct);
        return Results.Ok(Describe(await registry.GetAsync(userId, ct)));
    }

    private static async Task<IResult> UnregisterAsync(string userId, string? vendor, string? token, string? deviceId, PushTokenRegistry registry, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(deviceId))
        {
            return Results.Ok(new { removed = await registry.UnregisterDeviceAsync(userId, deviceId, ct) });
        }

        return !string.IsNullOrEmpty(vendor) && !string.IsNullOrEmpty(token)
            ? Results.Ok(new { removed = await registry.UnregisterAsync(userId, vendor, token, ct) ? 1 : 0 })
            : Results.Problem(title: "nothing to unregister", detail: "pass vendor and token, or deviceId (logout)", statusCode: StatusCodes.Status400BadRequest);
    }

    private static async Task<IResult> SetQuietHoursAsync(string userId, QuietHoursBody body, PushTokenRegistry registry, CancellationToken ct) =>
        await registry.SetQuietHoursAsync(userId, body.Start, body.End, body.TimeZone, ct) is { } error
            ? Results.Problem(title: "invalid quiet hours", detail: error, statusCode: StatusCodes.Status400BadRequest)
            : Results.Ok(await registry.GetPreferencesAsync(userId, ct));

    private static IResult InvalidUser() => Results.Problem(title: "invalid userId", detail: UserIds.Rule, statusCode: StatusCodes.Status400BadRequest);

    // Tokens are shown by prefix only: the full value is a delivery address worth keeping out of logs and screens.
    private static object Describe(IReadOnlyList<PushToken> tokens) => tokens.Select(t => new
    {
        t.DeviceId, t.Vendor, t.AppId, tokenPrefix = t.Token[..Math.Min(8, t.Token.Length)], t.Environment, t.Locale, t.Privacy, t.Preference, t.UpdatedMs,
    });

    internal sealed record RegisterBody(string? Vendor = null, string? AppId = null, string? Token = null, string? Environment = null, string? Locale = null,
        bool? Privacy = null, int? Preference = null, string? DeviceId = null);

    internal sealed record AdminRegisterBody(string? UserId, RegisterBody? Token);

    internal sealed record QuietHoursBody(string? Start, string? End, string? TimeZone);
}
