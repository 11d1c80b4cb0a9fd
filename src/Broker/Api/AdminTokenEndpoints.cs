using System.Security.Cryptography;
using System.Text;
using MqttIm.ImExtensions.Auth;

namespace MqttIm.Broker.Api;

internal static class AdminTokenEndpoints
{
    public const string AdminKeyHeader = "X-Admin-Key";

    /// <summary><c>POST /api/admin/tokens</c> {"userId", "ttlSeconds"?} with header X-Admin-Key: mints an access token.</summary>
    public static IEndpointRouteBuilder MapAdminTokenEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/admin/tokens", (HttpRequest http, TokenRequest request, SigningKeys keys, JwtTokenIssuer issuer) =>
        {
            if (!IsAdmin(http, keys))
            {
                return Results.Problem(title: "admin key missing or wrong", detail: $"send the admin API key in the {AdminKeyHeader} header", statusCode: StatusCodes.Status401Unauthorized);
            }

            if (!UserIds.IsValid(request.UserId))
            {
                return Results.Problem(title: "invalid userId", detail: UserIds.Rule, statusCode: StatusCodes.Status400BadRequest);
            }

            if (request.TtlSeconds is <= 0)
            {
                return Results.Problem(title: "invalid ttlSeconds", detail: "ttlSeconds must be positive", statusCode: StatusCodes.Status400BadRequest);
            }

            var token = issuer.Issue(request.UserId!, request.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(ttl) : null);
            return Results.Ok(new { userId = token.UserId, token = token.Token, expiresAt = token.ExpiresAt });
        });
        return endpoints;
    }

    private static bool IsAdmin(HttpRequest http, SigningKeys keys)
    {
        var presented = http.Headers[AdminKeyHeader].ToString();
        return presented.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(keys.AdminApiKey));
    }

    internal sealed record TokenRequest(string? UserId, long? TtlSeconds);
}
