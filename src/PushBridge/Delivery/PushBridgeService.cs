using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.PushBridge.Diagnostics;
using MqttIm.PushBridge.Scheduling;
using MqttIm.PushBridge.Vendors;

namespace MqttIm.PushBridge.Delivery;

/// <summary>
/// Runs the bridge: restores saved jobs, then one intake loop (reports → scheduler, in order) and one dispatch loop
/// (sleeps on the <see cref="TimeProvider"/> until the next job is due or the scheduler changes).
/// </summary>
internal sealed class PushBridgeService(OfflinePushSink sink, OfflinePushScheduler scheduler, PushChannelRegistry channels, IPushClusterBus cluster, TimeProvider time,
    ILogger<PushBridgeService> logger) : BackgroundService
{
    private readonly SemaphoreSlim _changed = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        scheduler.Changed += () =>
        {
            if (_changed.CurrentCount == 0)
            {
                try
                {
                    _changed.Release();
                }
                catch (SemaphoreFullException)
                {
                    // another change already woke the loop
                }
            }
        };
        var restored = await scheduler.LoadAsync(stoppingToken).ConfigureAwait(false);
        PushLog.Started(logger, channels.Count, restored);
        await Task.WhenAll(IntakeAsync(stoppingToken), DispatchAsync(stoppingToken)).ConfigureAwait(false);
    }

    private async Task IntakeAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in sink.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    if (item.Message is { } message)
                    {
                        var saved = await scheduler.BeginAcceptAsync(message, stoppingToken).ConfigureAwait(false);
                        _ = saved.ContinueWith(t => PushLog.IntakeFailed(logger, t.Exception!.GetBaseException(), message.UserId),
                            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                    }
                    else if (item.OnlineUserId is { } userId)
                    {
                        await scheduler.DeviceOnlineAsync(userId, stoppingToken).ConfigureAwait(false);
                        if (!item.FromOtherNode)
                        {
                            await cluster.DeviceOnlineAsync(userId).ConfigureAwait(false); // the user's jobs on other nodes go too
                        }
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    PushLog.IntakeFailed(logger, ex, item.Message?.UserId ?? item.OnlineUserId ?? "");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            _ = scheduler.RunDueAsync(stoppingToken); // sends run beside the loop; each one reports back through Changed
            var next = scheduler.NextDue();
            var delay = next is { } due ? due - time.GetUtcNow() : Timeout.InfiniteTimeSpan;
            if (delay == Timeout.InfiniteTimeSpan || delay > TimeSpan.Zero)
            {
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var timer = delay == Timeout.InfiniteTimeSpan ? Task.Delay(Timeout.Infinite, wake.Token) : Task.Delay(delay, time, wake.Token);
                await Task.WhenAny(timer, _changed.WaitAsync(wake.Token)).ConfigureAwait(false);
                await wake.CancelAsync().ConfigureAwait(false);
            }
        }
    }
}
