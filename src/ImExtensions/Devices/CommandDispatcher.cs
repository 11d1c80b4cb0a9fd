using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Sends a device's queued (and sent-but-unacknowledged) commands into its session, in seq order, one flush per device at a
/// time. A command is marked sent before it is queued to the session and becomes delivered only on the device's PUBACK;
/// whatever was sent but not acknowledged when the connection (or the broker) died is sent again on the next connect.
/// </summary>
internal sealed class CommandDispatcher(ICommandStore store, CommandCommitQueue writes, CommandRoutes routes, CommandOutcomes outcomes, CommandEvents events, IOptions<IotOptions> options, TimeProvider clock, ILogger<CommandDispatcher> logger)
{
    private static readonly CommandState[] Sendable = [CommandState.Queued, CommandState.Sent];
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _flushLocks = new(StringComparer.Ordinal);

    // Commands already put into each connection's session: a later flush on the same connection (another command issued
    // before this one's PUBACK came) does not send them again. A new connection is a new route, so it resends them.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<CommandRoute, HashSet<string>> _sentOn = new();

    /// <summary>A device's sync request: open commands after <paramref name="afterSeq"/> are sent again (delivered ones too, unchanged in state).</summary>
    public async Task ResendAsync(string deviceId, long afterSeq, CancellationToken cancellationToken)
    {
        if (!routes.TryGet(deviceId, out var route))
        {
            return;
        }

        foreach (var command in await store.ListOpenAsync(deviceId, options.Value.MaxQueuedCommandsPerDevice, cancellationToken).ConfigureAwait(false))
        {
            if (command.State == CommandState.Delivered && command.Seq > afterSeq)
            {
                route.Channel.TryPublish(CommandMessages.For(command, route.IsMqtt5));
            }
        }

        await FlushAsync(deviceId, cancellationToken).ConfigureAwait(false);
    }

    public async Task FlushAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (!routes.TryGet(deviceId, out _))
        {
            return;
        }

        var gate = _flushLocks.GetOrAdd(deviceId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!routes.TryGet(deviceId, out var route))
            {
                return;
            }

            // Every due write is queued at once (one group commit for a reconnecting device's whole backlog), then the
            // commands go into the session in seq order, each only after its sent state is stored.
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            var sentHere = _sentOn.GetValue(route, _ => new HashSet<string>(StringComparer.Ordinal)); // used under the device's flush lock only
            var expiring = new List<Task<CommandRecord?>>();
            var sending = new List<Task<CommandRecord?>>();
            foreach (var command in await store.ListOpenAsync(deviceId, options.Value.MaxQueuedCommandsPerDevice, cancellationToken).ConfigureAwait(false))
            {
                if (command.State == CommandState.Delivered)
                {
                    continue;
                }

                if (now >= command.ExpiresAtMs)
                {
                    expiring.Add(outcomes.MoveAsync(command.CommandId, Sendable, CommandState.Expired, "expired before delivery", null, cancellationToken));
                    continue;
                }

                if (command.State == CommandState.Sent && sentHere.Contains(command.CommandId))
                {
                    continue; // in this connection's session already, its PUBACK not stored yet
                }

                sending.Add(writes.TransitionAsync(command.CommandId, Sendable, CommandState.Sent, now, command.State == CommandState.Sent ? "resent" : null, null));
            }

            await Task.WhenAll(expiring).ConfigureAwait(false);
            foreach (var sent in await Task.WhenAll(sending).ConfigureAwait(false))
            {
                if (sent is null)
                {
                    continue;
                }

                DeviceLog.CommandState(logger, sent.CommandId, deviceId, "sent", $" (attempt {sent.Attempts})");
                await events.PublishAsync(sent).ConfigureAwait(false);
                if (!route.Channel.TryPublish(CommandMessages.For(sent, route.IsMqtt5)))
                {
                    // The session is gone or full: the rest stays sent (not delivered) and goes out again on the next flush or connect.
                    break;
                }

                sentHere.Add(sent.CommandId);
            }
        }
        finally
        {
            gate.Release();
        }
    }
}
