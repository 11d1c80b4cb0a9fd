using Microsoft.IdentityModel.JsonWebTokens;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Devices;

namespace MqttIm.Broker.Api.Devices;

/// <summary>
/// Who calls the device API: an operator (header X-Admin-Key: every device) or a user (<c>Authorization: Bearer</c> with the
/// user's access token: only devices the user owns, directly or through a group).
/// </summary>
internal sealed record DeviceCaller(bool IsAdmin, string UserId)
{
    private const string ItemKey = "mqttim.device-caller";

    public string Name => IsAdmin ? "admin" : UserId;

    public static DeviceCaller Of(HttpContext http) => (DeviceCaller)http.Items[ItemKey]!;

    public async Task<bool> MayAccessAsync(DeviceAccess access, string deviceId, CancellationToken cancellationToken) =>
        IsAdmin || await access.MayAccessAsync(UserId, deviceId, cancellationToken);

    /// <summary>A route group that resolves the caller first (401 without a valid admin key or user token).</summary>
    public static RouteGroupBuilder MapCallerGroup(IEndpointRouteBuilder endpoints, string prefix) =>
        endpoints.MapGroup(prefix).AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var keys = http.RequestServices.GetRequiredService<SigningKeys>();
            if (AdminApiKey.IsPresent(http.Request, keys))
            {
                http.Items[ItemKey] = new DeviceCaller(true, "");
                return await next(context);
            }

            var header = http.Request.Headers.Authorization.ToString();
            if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && UserOf(header[7..].Trim()) is { } userId
                && await http.RequestServices.GetRequiredService<JwtTokenValidator>().ValidateAsync(userId, header[7..].Trim()) is null)
            {
                http.Items[ItemKey] = new DeviceCaller(false, userId);
                return await next(context);
            }

            return Results.Problem(title: "not authenticated",
                detail: $"send the admin key in {AdminApiKey.Header} or a user's access token as Authorization: Bearer …", statusCode: StatusCodes.Status401Unauthorized);
        });

    private static string? UserOf(string token)
    {
        if (DeviceTokens.LooksLikeDeviceToken(token))
        {
            return null; // a device token is not a user's
        }

        try
        {
            return new JsonWebToken(token).Subject;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public static IResult Forbidden(string deviceId) =>
        Results.Problem(title: "not an owner", detail: $"the caller may not see device {deviceId}", statusCode: StatusCodes.Status403Forbidden);
}
