using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Deletes telemetry older than <see cref="IotOptions.TelemetryRetention"/> every <see cref="IotOptions.RetentionSweepInterval"/>.</summary>
internal sealed class TelemetryRetention(ITelemetryStore store, IOptions<IotOptions> options, TimeProvider clock, ILogger<TelemetryRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RetentionSweepInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var cutoff = clock.GetUtcNow() - options.Value.TelemetryRetention;
                var deleted = await store.DeleteOlderThanAsync(cutoff.ToUnixTimeMilliseconds(), stoppingToken).ConfigureAwait(false);
                if (deleted > 0)
                {
                    DeviceLog.RetentionDeleted(logger, deleted, cutoff);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                DeviceLog.SweepFailed(logger, ex);
            }
        }
    }
}
