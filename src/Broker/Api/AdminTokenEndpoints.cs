using MqttIm.ImExtensions.Auth;

namespace MqttIm.Broker.Api;

internal static class AdminTokenEndpoints
{
    /// <summary><c>POST /api/admin/tokens</c> {"userId", "ttlSeconds"?} with header X-Admin-Key: mints an access token.</summary>
    public static IEndpointRouteBuilder MapAdminTokenEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapAdminGroup("/api/admin/tokens").MapPost("", (TokenRequest request, JwtTokenIssuer issuer) =>
        {
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

    internal sealed record TokenRequest(string? UserId, long? TtlSeconds);
}
