using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Hooks;
using MqttIm.ImExtensions.Operations;

namespace MqttIm.Broker.Api;

/// <summary>
/// What the operations console at <c>/console</c> reads (admin key in <c>X-Admin-Key</c>):
/// <c>GET /api/admin/clients?search=&amp;limit=</c>, <c>DELETE /api/admin/clients/{clientId}</c>,
/// <c>GET /api/admin/subscriptions?search=&amp;limit=</c> (all three cluster-wide), <c>GET /api/admin/metrics</c> (JSON snapshot of the Prometheus
/// counters), <c>GET /api/admin/nodes</c>.
/// </summary>
internal static class ConsoleEndpoints
{
    public const int MaxClientsListed = 500;

    public static IEndpointRouteBuilder MapConsoleEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapAdminGroup("/api/admin");
        // Clients and subscriptions of every node (in a cluster the other live nodes are asked over Redis; see ClusterConsoleQueries).
        admin.MapGet("/clients", async (string? search, int? limit, ClusterConsoleQueries clients) =>
        {
            if (limit is <= 0 or > MaxClientsListed)
            {
                return Results.Problem(title: "invalid limit", detail: $"limit must be 1–{MaxClientsListed}", statusCode: StatusCodes.Status400BadRequest);
            }

            var listing = await clients.ListClientsAsync(search?.Trim(), limit ?? 100);
            return Results.Ok(new { total = listing.Total, clients = listing.Items, unansweredNodes = listing.UnansweredNodes });
        });
        admin.MapDelete("/clients/{clientId}", async (string clientId, ClusterConsoleQueries clients) =>
            await clients.DisconnectAsync(clientId)
                ? Results.NoContent()
                : Results.Problem(title: "client not connected", detail: $"no connected client has the id '{clientId}'", statusCode: StatusCodes.Status404NotFound));
        admin.MapGet("/subscriptions", async (string? search, int? limit, ClusterConsoleQueries subscriptions) =>
        {
            if (limit is <= 0 or > MaxSubscriptionsListed)
            {
                return Results.Problem(title: "invalid limit", detail: $"limit must be 1–{MaxSubscriptionsListed}", statusCode: StatusCodes.Status400BadRequest);
            }

            var listing = await subscriptions.ListSubscriptionsAsync(search?.Trim(), limit ?? 200);
            return Results.Ok(new { total = listing.Total, subscriptions = listing.Items, unansweredNodes = listing.UnansweredNodes });
        });
        // ?scope=cluster: every live node's counters added up (from their last published snapshots), else this node's.
        admin.MapGet("/metrics", async (string? scope, IServiceProvider services, MetricsSnapshots snapshots, NodeMetricsBoard board) =>
        {
            if (scope is not (null or "" or "node" or "cluster"))
            {
                return Results.Problem(title: "invalid scope", detail: "scope is node (default) or cluster", statusCode: StatusCodes.Status400BadRequest);
            }

            if (scope != "cluster")
            {
                return Results.Ok(snapshots.Take());
            }

            var all = await board.ReadAsync(LiveNodeIds(services));
            return Results.Ok(ClusterMetricsTotals.Sum([.. all.Values]));
        });
        // Every live node from the cluster registry (any node answers the same), or this node alone, each with its last
        // published metrics snapshot (the answering node's taken now; a node that has not published yet: null).
        admin.MapGet("/nodes", async (IServiceProvider services, ClusterNode self, NodeMetricsBoard board) =>
        {
            var live = services.GetService<ClusterNodeRegistry>()?.LiveNodes;
            var metrics = await board.ReadAsync(LiveNodeIds(services));
            var mine = metrics[self.NodeId];
            var nodes = live is null
                ? [new NodeView(self.NodeId, "", 0, (int)mine.ConnectedClients, null, mine.TimeMs, true, mine)]
                : live.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal)
                    .Select(n => new NodeView(n.NodeId, n.Host, n.MqttPort, n.Connections, n.Cpu, n.HeartbeatMs, n.NodeId == self.NodeId, metrics.GetValueOrDefault(n.NodeId)))
                    .ToList();
            return Results.Ok(new { clustered = self.IsClustered, answeredBy = self.NodeId, nodes });
        });
        return endpoints;
    }

    public const int MaxSubscriptionsListed = 1000;

    private static IEnumerable<string> LiveNodeIds(IServiceProvider services) =>
        services.GetService<ClusterNodeRegistry>()?.LiveNodes?.Keys ?? [];

    internal sealed record NodeView(string NodeId, string Host, int MqttPort, int Connections, double? Cpu, long HeartbeatMs, bool Self, BrokerMetricsSnapshot? Metrics);
}
