using MQTTnet;
using MqttIm.ImExtensions.SharedSubscriptions;

namespace MqttIm.Broker.Api;

/// <summary>
/// <c>GET /api/admin/shared-subscriptions</c> (admin key): this node's shared subscription groups, with their members,
/// how many are online and how many messages wait for a member to come back.
/// </summary>
internal static class SharedSubscriptionEndpoints
{
    public static IEndpointRouteBuilder MapSharedSubscriptionEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapAdminGroup("/api/admin/shared-subscriptions").MapGet("", (SharedSubscriptionRegistry<MqttApplicationMessage> registry) =>
            Results.Ok(new { groups = registry.Groups() }));
        return endpoints;
    }
}
