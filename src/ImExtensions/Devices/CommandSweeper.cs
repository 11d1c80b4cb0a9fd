using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Moves open commands on when time passes: never delivered before the expiry → expired; delivered without a reply within
/// its timeout → timed_out (or queued again when retries are left). Runs from start-up, so commands left open by a crash
/// are decided too; sent-but-unacknowledged ones are resent when their device connects.
/// </summary>
internal sealed class CommandSweeper(ICommandStore store, CommandOutcomes outcomes, CommandDispatcher dispatcher, IOptions<IotOptions> options, TimeProvider clock, ILogger<CommandSweeper> logger) : BackgroundService
{
    private const int PageSize = 5000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CommandSweepInterval, clock);
        do
        {
            try
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                DeviceLog.SweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // All due moves are queued at once so they share group commits instead of paying one commit each.
        var moves = new List<Task<CommandRecord?>>();
        foreach (var command in await store.ListOpenAsync(null, PageSize, cancellationToken).ConfigureAwait(false))
        {
            if (command.State is CommandState.Queued or CommandState.Sent && now >= command.ExpiresAtMs)
            {
                moves.Add(outcomes.MoveAsync(command.CommandId, [command.State], CommandState.Expired, "not delivered before its expiry", null, cancellationToken));
            }
            else if (command.State == CommandState.Delivered && now >= command.StateSinceMs + command.TimeoutMs)
            {
                moves.Add(outcomes.MoveAsync(command.CommandId, [CommandState.Delivered], CommandState.TimedOut, $"no reply within {command.TimeoutMs} ms of delivery", null, cancellationToken));
            }
        }

        var requeuedDevices = new HashSet<string>(StringComparer.Ordinal);
        foreach (var moved in await Task.WhenAll(moves).ConfigureAwait(false))
        {
            if (moved?.State == CommandState.Queued)
            {
                requeuedDevices.Add(moved.DeviceId);
            }
        }

        foreach (var deviceId in requeuedDevices)
        {
            await dispatcher.FlushAsync(deviceId, cancellationToken).ConfigureAwait(false);
        }
    }
}
