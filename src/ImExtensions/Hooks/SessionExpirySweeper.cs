using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Server;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// Deletes persistent sessions whose device stayed away past their (capped) expiry: MQTTnet 5.2 keeps a session until the
/// client id connects again, so without this a clean-session-0 client could park queued state forever.
/// </summary>
internal sealed class SessionExpirySweeper(
    SessionExpiryTracker tracker,
    ConnectedDeviceRegistry registry,
    DeviceLifecycle lifecycle,
    MqttServer server,
    BrokerState.PersistentSessions persistentSessions,
    TimeProvider clock,
    IOptions<SessionOptions> options,
    ILogger<SessionExpirySweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ExpirySweepInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var clientId in tracker.TakeExpired())
                {
                    await ExpireAsync(clientId).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ExpireAsync(string clientId)
    {
        try
        {
            // Reconnected meanwhile (the tracker forgot it then, but a takeover race is cheap to rule out).
            if (registry.Find(clientId) is not null)
            {
                return;
            }

            if (await server.GetSessionAsync(clientId).ConfigureAwait(false) is not { } session)
            {
                // Restored from the store after a restart and never resumed: only the store holds it. Counted too: it is
                // an expiry all the same, and a counter that skipped it would leave a watcher waiting for one.
                persistentSessions.Expired(clientId);
                SessionMetrics.Expired.Inc();
                logger.LogInformation("Session {ClientId} expired while only the store held it (Sessions:MaxSessionExpiry {Max})", clientId, options.Value.MaxSessionExpiry);
                return;
            }

            await session.DeleteAsync().ConfigureAwait(false);
            lifecycle.ForgetSessionState(clientId);
            SessionMetrics.Expired.Inc();
            logger.LogInformation("Session {ClientId} expired (Sessions:MaxSessionExpiry {Max})", clientId, options.Value.MaxSessionExpiry);
        }
        catch (Exception ex)
        {
            ImLog.HookFailed(logger, ex, "session-expiry", clientId);
        }
    }
}
