using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Presence;

namespace MqttIm.Broker.Api;

/// <summary><c>GET /api/presence?userIds=a,b,c</c> with header X-Admin-Key: online state, devices and last change of up to 500 users.</summary>
internal static class PresenceEndpoints
{
    public const int MaxUserIds = 500;

    public static IEndpointRouteBuilder MapPresenceEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapAdminGroup("/api/presence").MapGet("", async (string? userIds, PresenceTracker tracker, IServiceProvider services) =>
        {
            var ids = (userIds ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();
            if (ids.Count == 0)
            {
                return Results.Problem(title: "no userIds", detail: "pass userIds=a,b,c", statusCode: StatusCodes.Status400BadRequest);
            }

            if (ids.Count > MaxUserIds)
            {
                return Results.Problem(title: "too many userIds", detail: $"at most {MaxUserIds} per request, got {ids.Count}", statusCode: StatusCodes.Status400BadRequest);
            }

            if (ids.FirstOrDefault(id => !UserIds.IsValid(id)) is { } invalid)
            {
                return Results.Problem(title: "invalid userId", detail: $"'{invalid}': {UserIds.Rule}", statusCode: StatusCodes.Status400BadRequest);
            }

            // In a cluster, devices on other nodes count too (the Redis device directory).
            IEnumerable<MqttIm.Contracts.V1.PresenceState> states = services.GetService<MqttIm.ImExtensions.Cluster.ClusterPresence>() is { } cluster
                ? await cluster.GetManyAsync(ids)
                : ids.Select(tracker.Get);
            return Results.Ok(states.Select(s => new PresenceView(s.UserId, s.Online, [.. s.Devices], s.ChangedMs)));
        });
        return endpoints;
    }

    internal sealed record PresenceView(string UserId, bool Online, string[] Devices, long ChangedMs);
}
