using Microsoft.Extensions.Options;
using MQTTnet.Server;

namespace MqttIm.Broker.Hosting;

/// <summary>
/// Logs one "ready" line with the bound ports once Kestrel listens and the MQTT server has started
/// (MQTTnet starts fire-and-forget, so readiness is checked, not assumed). Scripts and tests wait for this line.
/// </summary>
internal sealed class ReadyAnnouncer(
    IHostApplicationLifetime lifetime,
    MqttServer server,
    BoundEndpoints endpoints,
    IOptions<BrokerListenOptions> listen,
    ILogger<ReadyAnnouncer> logger) : BackgroundService
{
    public const string ReadyMarker = "MqttIm ready:";

    // MQTTnet's IsStarted turns true before it has loaded retained messages (from the store: BrokerState/) and handed its
    // listeners their client handler; a connection in that window fails. Its Started event comes after both. Subscribed
    // here, when hosted services are built, before MQTTnet's hosted server starts.
    private readonly Task _mqttStarted = WhenStarted(server);

    private static Task WhenStarted(MqttServer server)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.StartedAsync += _ =>
        {
            started.TrySetResult();
            return Task.CompletedTask;
        };
        return started.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!server.IsStarted || !_mqttStarted.IsCompleted)
        {
            if (DateTime.UtcNow > deadline)
            {
                logger.LogCritical("The MQTT server did not start within 30 s; stopping");
                lifetime.StopApplication();
                return;
            }

            await Task.Delay(20, stoppingToken).ConfigureAwait(false);
        }

        var tls = endpoints.MqttTls is null ? "" : $" mqtts={BoundEndpoints.PortOf(endpoints.MqttTls)}";
        var https = endpoints.Https is null ? "" : $" https={BoundEndpoints.PortOf(endpoints.Https)}";
        // Console, not only the logger: the line is a contract for scripts and must not depend on log levels.
        Console.WriteLine($"{ReadyMarker} mqtt={BoundEndpoints.PortOf(endpoints.Mqtt)}{tls} http={BoundEndpoints.PortOf(endpoints.Http)}{https} ws={listen.Value.WebSocketPath} pid={Environment.ProcessId}");
        Console.WriteLine($"Chat demo: http://localhost:{BoundEndpoints.PortOf(endpoints.Http)}/   operations console: http://localhost:{BoundEndpoints.PortOf(endpoints.Http)}/console/");
    }
}
