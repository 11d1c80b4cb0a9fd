using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Hooks;
using MqttIm.ImExtensions.Operations;

namespace MqttIm.Broker.Api;

/// <summary>
/// What the operations console at <c>/console</c> reads (admin key in <c>X-Admin-Key</c>):
/// <c>GET /api/admin/clients?search=&amp;limit=</c>, <c>DELETE /api/admin/clients/{clientId}</c>,
/// <c>GET /api/admin/metrics</c> (JSON snapshot of the Prometheus counters), <c>GET /api/admin/nodes</c>.
/// </summary>
internal static class ConsoleEndpoints
{
    public const int MaxClientsListed = 500;

    public static IEndpointRouteBuilder MapConsoleEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapAdminGroup("/api/admin");
        admin.MapGet("/clients", async (string? search, int? limit, MqttClientAdministration clients) =>
        {
            if (limit is <= 0 or > MaxClientsListed)
            {
                return Results.Problem(title: "invalid limit", detail: $"limit must be 1–{MaxClientsListed}", statusCode: StatusCodes.Status400BadRequest);
            }

            var (list, total) = await clients.ListAsync(search?.Trim(), limit ?? 100);
            return Results.Ok(new { total, clients = list });
        });
        admin.MapDelete("/clients/{clientId}", async (string clientId, MqttClientAdministration clients) =>
            await clients.DisconnectAsync(clientId)
                ? Results.NoContent()
                : Results.Problem(title: "client not connected", detail: $"no connected client has the id '{clientId}'", statusCode: StatusCodes.Status404NotFound));
        admin.MapGet("/metrics", (ClusterNode node, TimeProvider time, ClientSubscriptions subscriptions) =>
            Results.Ok(BrokerMetricsSnapshot.Take(node.NodeId, time, subscriptions.Count)));
        // One entry per node; a single node lists itself. Cluster mode can answer with every node's snapshot here.
        admin.MapGet("/nodes", (ClusterNode node, TimeProvider time, ClientSubscriptions subscriptions) =>
            Results.Ok(new[] { BrokerMetricsSnapshot.Take(node.NodeId, time, subscriptions.Count) }));
        return endpoints;
    }
}
