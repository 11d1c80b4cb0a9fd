using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// State changes after sending: persisted, logged, counted in /metrics and handed to synchronous waiters. A failed or
/// timed-out command with retries left is queued again (both transitions stay in its history).
/// </summary>
internal sealed class CommandOutcomes(ICommandStore store, CommandWaiters waiters, CommandEvents events, TimeProvider clock, ILogger<CommandOutcomes> logger)
{
    private static readonly CommandState[] Retryable = [CommandState.Failed, CommandState.TimedOut];

    public async Task<CommandRecord?> MoveAsync(string commandId, IReadOnlyCollection<CommandState> from, CommandState to, string? detail, string? result, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var moved = await store.TransitionAsync(commandId, from, to, now, detail, result, cancellationToken).ConfigureAwait(false);
        if (moved is null)
        {
            return null;
        }

        var name = CommandStateNames.Of(to);
        DeviceLog.CommandState(logger, commandId, moved.DeviceId, name, detail is null ? "" : $" ({detail})");
        await events.PublishAsync(moved).ConfigureAwait(false);
        if (Retryable.Contains(to) && moved.Attempts <= moved.MaxRetries && now < moved.ExpiresAtMs
            && await store.TransitionAsync(commandId, [to], CommandState.Queued, now, $"retry {moved.Attempts} of {moved.MaxRetries}", null, cancellationToken).ConfigureAwait(false) is { } requeued)
        {
            DeviceMetrics.Commands.WithLabels("retried").Inc();
            await events.PublishAsync(requeued).ConfigureAwait(false);
            return requeued;
        }

        if (!moved.IsOpen)
        {
            DeviceMetrics.Commands.WithLabels(name).Inc();
        }

        waiters.Completed(moved);
        return moved;
    }
}
