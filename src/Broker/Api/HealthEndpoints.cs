using MQTTnet.Server;

namespace MqttIm.Broker.Api;

internal static class HealthEndpoints
{
    /// <summary><c>GET /healthz</c>: 200 once the MQTT server runs, 503 before.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", (MqttServer server) => server.IsStarted
            ? Results.Ok(new { status = "ok" })
            : Results.Problem(title: "MQTT server not started", statusCode: StatusCodes.Status503ServiceUnavailable));
        return endpoints;
    }
}
