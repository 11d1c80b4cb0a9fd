using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Hooks;
using MqttIm.ImExtensions.Operations;
using MqttIm.PushBridge.Diagnostics;

namespace MqttIm.Broker.Api;

/// <summary>
/// What the operations console at <c>/console</c> reads (admin key in <c>X-Admin-Key</c>):
/// <c>GET /api/admin/clients?search=&amp;limit=</c>, <c>DELETE /api/admin/clients/{clientId}</c>,
/// <c>GET /api/admin/subscriptions?search=&amp;limit=</c>, <c>GET /api/admin/metrics</c> (JSON snapshot of the Prometheus
/// counters), <c>GET /api/admin/nodes</c>.
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
        admin.MapGet("/subscriptions", (string? search, int? limit, ClientSubscriptions subscriptions) =>
        {
            if (limit is <= 0 or > MaxSubscriptionsListed)
            {
                return Results.Problem(title: "invalid limit", detail: $"limit must be 1–{MaxSubscriptionsListed}", statusCode: StatusCodes.Status400BadRequest);
            }

            var (list, total) = subscriptions.List(search?.Trim(), limit ?? 200);
            return Results.Ok(new { total, subscriptions = list });
        });
        admin.MapGet("/metrics", (ClusterNode node, TimeProvider time, ClientSubscriptions subscriptions) =>
            Results.Ok(Snapshot(node, time, subscriptions)));
        // Every live node from the cluster registry (any node answers the same), or this node alone; the answering
        // node adds its own full snapshot, the others are known by their last heartbeat (connections, CPU).
        admin.MapGet("/nodes", (IServiceProvider services, ClusterNode self, TimeProvider time, ClientSubscriptions subscriptions) =>
        {
            var snapshot = Snapshot(self, time, subscriptions);
            var live = services.GetService<ClusterNodeRegistry>()?.LiveNodes;
            var nodes = live is null
                ? [new NodeView(self.NodeId, "", 0, (int)snapshot.ConnectedClients, null, snapshot.TimeMs, true, snapshot)]
                : live.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal)
                    .Select(n => new NodeView(n.NodeId, n.Host, n.MqttPort, n.Connections, n.Cpu, n.HeartbeatMs, n.NodeId == self.NodeId, n.NodeId == self.NodeId ? snapshot : null))
                    .ToList();
            return Results.Ok(new { clustered = self.IsClustered, answeredBy = self.NodeId, nodes });
        });
        return endpoints;
    }

    public const int MaxSubscriptionsListed = 1000;

    // The IM layer's snapshot plus the push bridge's series (the bridge is a separate assembly the IM layer does not see).
    private static BrokerMetricsSnapshot Snapshot(ClusterNode node, TimeProvider time, ClientSubscriptions subscriptions) =>
        BrokerMetricsSnapshot.Take(node.NodeId, time, subscriptions.Count) with
        {
            PushOutcomes = PushMetricsReader.OutcomesByResult(),
            PushPendingJobs = PushMetricsReader.PendingJobs,
        };

    internal sealed record NodeView(string NodeId, string Host, int MqttPort, int Connections, double? Cpu, long HeartbeatMs, bool Self, BrokerMetricsSnapshot? Metrics);
}
