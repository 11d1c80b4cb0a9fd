using System.Text.Json;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Auth;

namespace MqttIm.Broker.Api;

internal static class AdminTokenEndpoints
{
    /// <summary><c>POST /api/admin/tokens</c> {"userId", "ttlSeconds"?} with header X-Admin-Key: mints an access token.</summary>
    public static IEndpointRouteBuilder MapAdminTokenEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // The body is read here, not bound: every bad value (1e12, -5, 1.5, "x", malformed JSON) gets its own 400 problem.
        endpoints.MapAdminGroup("/api/admin/tokens").MapPost("", async (HttpRequest http, JwtTokenIssuer issuer, IOptions<AuthOptions> auth) =>
        {
            JsonElement body;
            try
            {
                using var document = await JsonDocument.ParseAsync(http.Body, cancellationToken: http.HttpContext.RequestAborted);
                body = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                return Invalid("malformed JSON", ex.Message);
            }

            if (body.ValueKind != JsonValueKind.Object)
            {
                return Invalid("invalid body", "send a JSON object {\"userId\", \"ttlSeconds\"?}");
            }

            var userId = body.TryGetProperty("userId", out var user) && user.ValueKind == JsonValueKind.String ? user.GetString() : null;
            if (!UserIds.IsValid(userId))
            {
                return Invalid("invalid userId", UserIds.Rule);
            }

            var max = auth.Value.MaxTokenLifetime;
            TimeSpan? lifetime = null;
            if (body.TryGetProperty("ttlSeconds", out var ttl) && ttl.ValueKind != JsonValueKind.Null)
            {
                if (ttl.ValueKind != JsonValueKind.Number || !ttl.TryGetInt64(out var seconds) || seconds <= 0 || seconds > (long)max.TotalSeconds)
                {
                    return Invalid("invalid ttlSeconds", FormattableString.Invariant(
                        $"ttlSeconds is a whole number of seconds from 1 to {(long)max.TotalSeconds} (Auth:MaxTokenLifetime), got {ttl.GetRawText()}"));
                }

                lifetime = TimeSpan.FromSeconds(seconds);
            }

            var token = issuer.Issue(userId!, lifetime);
            return Results.Ok(new { userId = token.UserId, token = token.Token, expiresAt = token.ExpiresAt });
        });
        return endpoints;
    }

    private static IResult Invalid(string title, string detail) =>
        Results.Problem(title: title, detail: detail, statusCode: StatusCodes.Status400BadRequest);
}
