using MQTTnet.Server;

namespace MqttIm.Broker.Hosting;

/// <summary>
/// On SIGTERM, Kestrel waits (up to the 30 s shutdown timeout) for its connections to end before the hosted MQTTnet
/// server is stopped, and MQTTnet connections only end when MQTTnet stops them: every connected client held the
/// shutdown for 30 s. Stopping MQTTnet as soon as the application is stopping sends each client its DISCONNECT
/// (MQTT 5: 0x8B server shutting down) and lets Kestrel finish at once.
/// </summary>
internal sealed class MqttShutdownOnStopping(IHostApplicationLifetime lifetime, MqttServer server, ILogger<MqttShutdownOnStopping> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => _ = StopMqttAsync());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task StopMqttAsync()
    {
        try
        {
            if (server.IsStarted)
            {
                await server.StopAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Stopping the MQTT server early failed; the host stops it again");
        }
    }
}
