using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Group commit for command writes (issues and state transitions), like chat messages and telemetry: writes from every
/// issuer, device and sweep queue here and one loop applies them in arrival order, a batch per store commit. A caller's
/// task completes only once its write is durable, so everything that follows a transition (the device's copy, the
/// event, the HTTP answer, the PUBACK of a reply) still comes after the state it reports is stored.
/// </summary>
/// <remarks>
/// One FIFO loop keeps writes in submission order: a write queued after another (e.g. the reply's final state after the
/// PUBACK's delivered) is applied after it, in the same batch or a later one. When a batch fails (a PostgreSQL deadlock
/// between nodes, one bad row), its writes are applied again one at a time, so one failure fails only its own caller.
/// </remarks>
internal sealed class CommandCommitQueue(ICommandStore store, IOptions<IotOptions> options, ILogger<CommandCommitQueue> logger) : BackgroundService
{
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Completes with the created command once it is durable; null when the device's open-command bound is reached.</summary>
    public Task<CommandRecord?> CreateAsync(CommandDraft draft, int maxOpenPerDevice) => Submit(new CreateCommandWrite(draft, maxOpenPerDevice));

    /// <summary>Completes with the moved command once the move is durable; null when its state was not one of <paramref name="from"/>.</summary>
    public Task<CommandRecord?> TransitionAsync(string commandId, IReadOnlyCollection<CommandState> from, CommandState to, long atMs, string? detail, string? result) =>
        Submit(new TransitionCommandWrite(commandId, from, to, atMs, detail, result));

    private Task<CommandRecord?> Submit(CommandWrite write)
    {
        var pending = new Pending(write, new TaskCompletionSource<CommandRecord?>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(pending))
        {
            pending.Done.SetException(new InvalidOperationException("the broker is shutting down"));
        }

        return pending.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>();
        var writes = new List<CommandWrite>();
        var reader = _pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                writes.Clear();
                while (batch.Count < options.Value.CommandBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                    writes.Add(item.Write);
                }

                await CommitAsync(batch, writes).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        _pending.Writer.TryComplete();
        while (reader.TryRead(out var left))
        {
            left.Done.TrySetException(new OperationCanceledException("the broker is stopping"));
        }
    }

    private async Task CommitAsync(List<Pending> batch, List<CommandWrite> writes)
    {
        try
        {
            var results = await store.ApplyAsync(writes, CancellationToken.None).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(results[i]);
            }

            return;
        }
        catch (Exception ex) when (batch.Count > 1)
        {
            DeviceLog.CommandBatchFailed(logger, ex, batch.Count);
        }
        catch (Exception ex)
        {
            batch[0].Done.TrySetException(ex);
            return;
        }

        foreach (var item in batch)
        {
            try
            {
                item.Done.TrySetResult((await store.ApplyAsync([item.Write], CancellationToken.None).ConfigureAwait(false))[0]);
            }
            catch (Exception ex)
            {
                item.Done.TrySetException(ex);
            }
        }
    }

    private sealed record Pending(CommandWrite Write, TaskCompletionSource<CommandRecord?> Done);
}
