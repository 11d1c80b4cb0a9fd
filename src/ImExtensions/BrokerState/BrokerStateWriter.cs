using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.BrokerState.Store;

namespace MqttIm.ImExtensions.BrokerState;

/// <summary>
/// Writes broker state changes in batches (one transaction, one fsync for everything that queued up meanwhile), so the
/// relay path never waits for the disk unless it must: a QoS 1/2 message for a persistent session, or a QoS 1/2 retained
/// message, is acknowledged to its publisher only once stored; QoS 0 retained changes and acknowledgement clean-up are not waited for.
/// </summary>
internal sealed class BrokerStateWriter(IBrokerStateStore store, ILogger<BrokerStateWriter> logger) : BackgroundService
{
    private const int MaxBatch = 1024;
    private static readonly TimeSpan[] RetryDelays = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2)];
    private readonly Channel<(BrokerStateChange Change, TaskCompletionSource? Stored)> _changes =
        Channel.CreateUnbounded<(BrokerStateChange, TaskCompletionSource?)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Written with the next batch; nobody waits.</summary>
    public void Enqueue(BrokerStateChange change) => _changes.Writer.TryWrite((change, null));

    /// <summary>Written with the next batch; completes once durable (faults when the store keeps failing).</summary>
    public Task SaveAsync(IReadOnlyList<BrokerStateChange> changes)
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < changes.Count; i++)
        {
            if (!_changes.Writer.TryWrite((changes[i], i == changes.Count - 1 ? stored : null)))
            {
                return Task.FromException(new InvalidOperationException("the broker is shutting down"));
            }
        }

        return stored.Task;
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _changes.Writer.TryComplete(); // what is queued is still written
        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<BrokerStateChange>(MaxBatch);
        var waiting = new List<TaskCompletionSource>();
        while (await _changes.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _changes.Reader.TryRead(out var item))
            {
                batch.Add(item.Change);
                if (item.Stored is not null)
                {
                    waiting.Add(item.Stored);
                }
            }

            var failure = await WriteAsync(batch).ConfigureAwait(false);
            foreach (var stored in waiting)
            {
                if (failure is null)
                {
                    stored.TrySetResult();
                }
                else
                {
                    stored.TrySetException(failure);
                }
            }

            batch.Clear();
            waiting.Clear();
        }
    }

    private async Task<Exception?> WriteAsync(List<BrokerStateChange> batch)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await store.ApplyAsync(batch, CancellationToken.None).ConfigureAwait(false);
                return null;
            }
            catch (Exception ex) when (attempt < RetryDelays.Length)
            {
                logger.LogWarning(ex, "Writing {Count} broker state changes failed (attempt {Attempt}); retrying", batch.Count, attempt + 1);
                await Task.Delay(RetryDelays[attempt]).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Writing {Count} broker state changes failed for good; their publishers get an error", batch.Count);
                return ex;
            }
        }
    }
}
