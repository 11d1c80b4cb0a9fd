using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// State changes after sending: persisted (group commit), then logged, counted in /metrics, announced and handed to
/// synchronous waiters. A failed or timed-out command with retries left is queued again (both transitions stay in its
/// history).
/// </summary>
internal sealed class CommandOutcomes(CommandCommitQueue writes, CommandWaiters waiters, CommandEvents events, TimeProvider clock, ILogger<CommandOutcomes> logger)
{
    private static readonly CommandState[] Retryable = [CommandState.Failed, CommandState.TimedOut];

    /// <summary>Moves the command if its state is one of <paramref name="from"/>; the stored result, or null when it was not.</summary>
    public async Task<CommandRecord?> MoveAsync(string commandId, IReadOnlyCollection<CommandState> from, CommandState to, string? detail, string? result, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var moved = await writes.TransitionAsync(commandId, from, to, now, detail, result).ConfigureAwait(false);
        return moved is null ? null : await ReportAsync(moved, now).ConfigureAwait(false);
    }

    /// <summary>
    /// Two moves of one command queued together, so they share a commit (a device's reply that also implies the delivery),
    /// and reported in that order; the second's result, or null when it did not apply.
    /// </summary>
    public async Task<CommandRecord?> MoveTwiceAsync(string commandId, Move first, Move second)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var firstWrite = writes.TransitionAsync(commandId, first.From, first.To, now, first.Detail, first.Result);
        var secondWrite = writes.TransitionAsync(commandId, second.From, second.To, now, second.Detail, second.Result);
        if (await firstWrite.ConfigureAwait(false) is { } firstMoved)
        {
            await ReportAsync(firstMoved, now).ConfigureAwait(false);
        }

        return await secondWrite.ConfigureAwait(false) is { } secondMoved ? await ReportAsync(secondMoved, now).ConfigureAwait(false) : null;
    }

    private async Task<CommandRecord> ReportAsync(CommandRecord moved, long now)
    {
        var to = moved.State;
        var name = CommandStateNames.Of(to);
        var detail = moved.History[^1].Detail;
        DeviceMetrics.CommandStates.WithLabels(name).Inc();
        if (to is CommandState.Failed or CommandState.Rejected or CommandState.TimedOut or CommandState.Expired)
        {
            DeviceLog.CommandNotSucceeded(logger, moved.CommandId, moved.DeviceId, name, detail is null ? "" : $" ({detail})");
        }
        else if (logger.IsEnabled(LogLevel.Debug))
        {
            DeviceLog.CommandState(logger, moved.CommandId, moved.DeviceId, name, detail is null ? "" : $" ({detail})");
        }

        await events.PublishAsync(moved).ConfigureAwait(false);
        if (Retryable.Contains(to) && moved.Attempts <= moved.MaxRetries && now < moved.ExpiresAtMs
            && await writes.TransitionAsync(moved.CommandId, [to], CommandState.Queued, now, $"retry {moved.Attempts} of {moved.MaxRetries}", null).ConfigureAwait(false) is { } requeued)
        {
            DeviceMetrics.Commands.WithLabels("retried").Inc();
            DeviceMetrics.CommandStates.WithLabels("queued").Inc();
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

    /// <summary>One conditional move: from one of <paramref name="From"/> to <paramref name="To"/>.</summary>
    internal sealed record Move(IReadOnlyCollection<CommandState> From, CommandState To, string? Detail, string? Result);
}
