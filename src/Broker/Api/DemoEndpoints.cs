using MqttIm.ImExtensions.Auth;

namespace MqttIm.Broker.Api;

/// <summary>
/// Only with <c>Demo:Enabled=true</c>: <c>GET /api/demo</c> (the page asks whether to show its "mint a demo token"
/// button) and <c>POST /api/demo/tokens</c> {"userId"} → {"userId","token","expiresAt"} without the admin key.
/// Without the setting neither route exists (404), so a default broker never hands out tokens to anyone.
/// </summary>
internal static class DemoEndpoints
{
    public static IEndpointRouteBuilder MapDemoEndpoints(this IEndpointRouteBuilder endpoints, DemoOptions options)
    {
        if (!options.Enabled)
        {
            return endpoints;
        }

        endpoints.MapGet("/api/demo", () => Results.Ok(new { enabled = true, tokenLifetimeSeconds = (long)options.TokenLifetime.TotalSeconds }));
        endpoints.MapPost("/api/demo/tokens", (DemoTokenRequest request, JwtTokenIssuer issuer) =>
        {
            if (!UserIds.IsValid(request.UserId))
            {
                return Results.Problem(title: "invalid userId", detail: UserIds.Rule, statusCode: StatusCodes.Status400BadRequest);
            }

            var token = issuer.Issue(request.UserId!, options.TokenLifetime);
            return Results.Ok(new { userId = token.UserId, token = token.Token, expiresAt = token.ExpiresAt });
        });
        return endpoints;
    }

    internal sealed record DemoTokenRequest(string? UserId);
}
