using System.Net;
using Microsoft.Extensions.Options;
using MqttIm.Broker.Hosting;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.Broker.Api;

/// <summary>The entry endpoint: where a connecting client should go (seed 002, "smart load balancing").</summary>
internal static class EntryEndpoints
{
    /// <summary>
    /// <c>GET /api/entry</c> → the least-loaded healthy node <c>{nodeId, host, mqttPort, wsUrl, connections, cpu}</c>;
    /// on a single node, this node. <c>GET /api/entry/nodes</c> lists the live nodes. Also tells the cluster this node's address once its listeners are bound.
    /// </summary>
    public static WebApplication MapEntryEndpoints(this WebApplication app)
    {
        var registry = app.Services.GetService<ClusterNodeRegistry>();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var address = OwnAddress(app.Services);
            registry?.Advertise(address);
            if (registry is not null)
            {
                ClusterLog.NodeJoined(app.Logger, registry.NodeId, address.Host, address.MqttPort);
            }
        });

        app.MapGet("/api/entry", (IServiceProvider services, ClusterNode self, ConnectedDeviceRegistry connections) =>
        {
            if (registry is null)
            {
                var own = OwnAddress(services);
                return Results.Ok(new NodeInfo(self.NodeId, own.Host, own.MqttPort, own.WsUrl, connections.Count, 0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
            }

            return registry.LeastLoaded() is { } node
                ? Results.Ok(node)
                : Results.Problem(title: "No healthy node", detail: "No node of the cluster has heartbeated recently.", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        // Every live node as this node last saw them (operators, and tests waiting for a cluster to form).
        app.MapGet("/api/entry/nodes", () => Results.Ok(registry?.LiveNodes?.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal).ToArray() ?? []));
        return app;
    }

    private static NodeAddress OwnAddress(IServiceProvider services)
    {
        var cluster = services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        var listen = services.GetRequiredService<IOptions<BrokerListenOptions>>().Value;
        var endpoints = services.GetRequiredService<BoundEndpoints>();
        var host = cluster.AdvertiseHost;
        if (string.IsNullOrWhiteSpace(host))
        {
            host = IPAddress.TryParse(listen.Address, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) ? Dns.GetHostName() : listen.Address;
        }

        var mqttPort = cluster.AdvertiseMqttPort > 0 ? cluster.AdvertiseMqttPort : BoundEndpoints.PortOf(endpoints.Mqtt);
        var wsUrl = string.IsNullOrWhiteSpace(cluster.AdvertiseWsUrl)
            ? $"ws://{host}:{BoundEndpoints.PortOf(endpoints.Http)}{listen.WebSocketPath}"
            : cluster.AdvertiseWsUrl;
        return new NodeAddress(host, mqttPort, wsUrl);
    }
}
