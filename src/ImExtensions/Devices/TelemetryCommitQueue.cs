using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Group commit for telemetry, like chat messages: uplinks from all devices wait here and are written in one batch,
/// and each device's PUBACK goes out only once its point is stored.
/// </summary>
internal sealed class TelemetryCommitQueue(ITelemetryStore store, IOptions<IotOptions> options, ILogger<TelemetryCommitQueue> logger) : BackgroundService
{
    private readonly Channel<(TelemetryPoint Point, TaskCompletionSource Stored)> _pending =
        Channel.CreateUnbounded<(TelemetryPoint, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Completes when the point is durable; faults when its batch failed.</summary>
    public Task AppendAsync(TelemetryPoint point)
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.Writer.TryWrite((point, stored)))
        {
            stored.SetException(new InvalidOperationException("the broker is shutting down"));
        }

        return stored.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(TelemetryPoint Point, TaskCompletionSource Stored)>();
        var points = new List<TelemetryPoint>();
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                points.Clear();
                while (batch.Count < options.Value.TelemetryBatch && _pending.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                    points.Add(item.Point);
                }

                try
                {
                    await store.AppendAsync(points, CancellationToken.None).ConfigureAwait(false);
                    DeviceMetrics.TelemetryPoints.Inc(points.Count);
                    batch.ForEach(b => b.Stored.TrySetResult());
                }
                catch (Exception ex)
                {
                    DeviceLog.TelemetryBatchFailed(logger, ex, points.Count);
                    batch.ForEach(b => b.Stored.TrySetException(ex));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
