using System.Security.Cryptography;
using System.Text;
using MqttIm.ImExtensions.Auth;

namespace MqttIm.Broker.Api;

/// <summary>The operator check for admin endpoints: header <c>X-Admin-Key</c> must equal the configured or generated key.</summary>
internal static class AdminApiKey
{
    public const string Header = "X-Admin-Key";

    public static bool IsPresent(HttpRequest http, SigningKeys keys)
    {
        var presented = http.Headers[Header].ToString();
        return presented.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(keys.AdminApiKey));
    }

    public static IResult Missing() =>
        Results.Problem(title: "admin key missing or wrong", detail: $"send the admin API key in the {Header} header", statusCode: StatusCodes.Status401Unauthorized);

    /// <summary>
    /// A route group whose endpoints all require the admin key: checked by <see cref="AdminApiGuard"/> before the body is
    /// read, and again by the filter (should the guard ever be left out of the pipeline).
    /// </summary>
    public static RouteGroupBuilder MapAdminGroup(this IEndpointRouteBuilder endpoints, string prefix) =>
        endpoints.MapGroup(prefix).WithMetadata(new AdminKeyRequired()).AddEndpointFilter(async (context, next) =>
            IsPresent(context.HttpContext.Request, context.HttpContext.RequestServices.GetRequiredService<SigningKeys>())
                ? await next(context)
                : Missing());
}
