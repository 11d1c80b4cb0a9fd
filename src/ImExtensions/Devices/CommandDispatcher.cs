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
    private static readonly CommandState[] OnlyQueued = [CommandState.Queued];
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _flushLocks = new(StringComparer.Ordinal);

    // What each connection's session has had from this dispatcher: a later flush on the same connection (another command
    // issued before this one's PUBACK came) does not send them again. A new connection is a new route, so it resends them.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<CommandRoute, RouteState> _routeStates = new();

    /// <summary>A device's sync request: open commands after <paramref name="afterSeq"/> are sent again (sent and delivered ones too, unchanged in state).</summary>
    public async Task ResendAsync(string deviceId, long afterSeq, CancellationToken cancellationToken)
    {
        if (!routes.TryGet(deviceId, out var route))
        {
            return;
        }

        foreach (var command in await store.ListOpenAsync(deviceId, options.Value.MaxQueuedCommandsPerDevice, cancellationToken).ConfigureAwait(false))
        {
            // Sent counts too: its PUBACK may be on its way or lost with the device's state; the device asked for everything
            // after afterSeq and dedups by command id (queued ones go out with the flush below).
            if (command.State is (CommandState.Sent or CommandState.Delivered) && command.Seq > afterSeq)
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
            if (routes.TryGet(deviceId, out var route))
            {
                await FlushLockedAsync(route, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Creates a command for a device connected here and sends it. When this connection's session already has every
    /// earlier open command of the device (the last flush on it sent them all), the create and the sent state are queued
    /// together, so they share one commit, and the command goes out without reading the device's queue again; otherwise
    /// it is created and the device's queue flushed, so seq order holds either way. Null when the device's queue is full.
    /// </summary>
    /// <param name="onCreated">Runs once the command is stored, before anything is sent (the queued event).</param>
    public async Task<CommandRecord?> CreateAndSendAsync(CommandDraft draft, int maxOpenPerDevice, Func<CommandRecord, Task> onCreated, CancellationToken cancellationToken)
    {
        var gate = _flushLocks.GetOrAdd(draft.DeviceId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!routes.TryGet(draft.DeviceId, out var route) || _routeStates.GetValue(route, _ => new RouteState()) is not { SeenThrough: >= 0 } state)
            {
                var queued = await writes.CreateAsync(draft, maxOpenPerDevice).ConfigureAwait(false);
                if (queued is not null)
                {
                    await onCreated(queued).ConfigureAwait(false);
                    if (route is not null)
                    {
                        await FlushLockedAsync(route, cancellationToken).ConfigureAwait(false);
                    }
                }

                return queued;
            }

            var creating = writes.CreateAsync(draft, maxOpenPerDevice);
            var sending = writes.TransitionAsync(draft.CommandId, OnlyQueued, CommandState.Sent, clock.GetUtcNow().ToUnixTimeMilliseconds(), null, null);
            await Task.WhenAll(creating, sending).ConfigureAwait(false);
            if (await creating.ConfigureAwait(false) is not { } created)
            {
                return null; // the queue is full; the sent move found no command
            }

            await onCreated(created).ConfigureAwait(false);
            if (await sending.ConfigureAwait(false) is not { } sent)
            {
                return created;
            }

            if (created.Seq == state.SeenThrough + 1)
            {
                state.SeenThrough = created.Seq;
                if (!await PutIntoSessionAsync(route, state, sent).ConfigureAwait(false))
                {
                    state.SeenThrough = -1; // the next command reads the queue again
                }
            }
            else
            {
                // Commands issued elsewhere (another node) came in between: they go first, this one again after them.
                state.SeenThrough = -1;
                await FlushLockedAsync(route, cancellationToken).ConfigureAwait(false);
            }

            return created;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Every sendable command of the route's device, in seq order; the caller holds the device's flush lock.</summary>
    private async Task FlushLockedAsync(CommandRoute route, CancellationToken cancellationToken)
    {
        // Every due write is queued at once (one group commit for a reconnecting device's whole backlog), then the
        // commands go into the session in seq order, each only after its sent state is stored.
        var deviceId = route.DeviceId;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var state = _routeStates.GetValue(route, _ => new RouteState());
        var expiring = new List<Task<CommandRecord?>>();
        var sending = new List<Task<CommandRecord?>>();
        var highestSeq = -1L;
        var open = await store.ListOpenAsync(deviceId, options.Value.MaxQueuedCommandsPerDevice, cancellationToken).ConfigureAwait(false);
        if (open.Count < options.Value.MaxQueuedCommandsPerDevice)
        {
            state.KeepOnlySent(open); // the whole open queue was read: anything else tracked here is final or delivered
        }

        foreach (var command in open)
        {
            highestSeq = Math.Max(highestSeq, command.Seq);
            if (command.State == CommandState.Delivered)
            {
                continue;
            }

            if (now >= command.ExpiresAtMs)
            {
                expiring.Add(outcomes.MoveAsync(command.CommandId, Sendable, CommandState.Expired, "expired before delivery", null, cancellationToken));
                continue;
            }

            if (command.State == CommandState.Sent && state.SentHere.ContainsKey(command.CommandId))
            {
                continue; // in this connection's session already, its PUBACK not stored yet
            }

            sending.Add(writes.TransitionAsync(command.CommandId, Sendable, CommandState.Sent, now, command.State == CommandState.Sent ? "resent" : null, null));
        }

        await Task.WhenAll(expiring).ConfigureAwait(false);
        var complete = true;
        foreach (var sent in await Task.WhenAll(sending).ConfigureAwait(false))
        {
            if (sent is not null && !await PutIntoSessionAsync(route, state, sent).ConfigureAwait(false))
            {
                // The session is gone or full: the rest stays sent (not delivered) and goes out again on the next flush or connect.
                complete = false;
                break;
            }
        }

        // Every open command up to the highest seq read is now in this session (or final): the next one issued here
        // can go out alone. Anything less (nothing read, a full session) and the next one reads the queue again.
        state.SeenThrough = complete && highestSeq >= 0 ? Math.Max(state.SeenThrough, highestSeq) : -1;
    }

    private async Task<bool> PutIntoSessionAsync(CommandRoute route, RouteState state, CommandRecord sent)
    {
        DeviceMetrics.CommandStates.WithLabels("sent").Inc();
        if (logger.IsEnabled(LogLevel.Debug))
        {
            DeviceLog.CommandState(logger, sent.CommandId, sent.DeviceId, "sent", $" (attempt {sent.Attempts})");
        }

        await events.PublishAsync(sent).ConfigureAwait(false);
        if (!route.Channel.TryPublish(CommandMessages.For(sent, route.IsMqtt5)))
        {
            return false;
        }

        state.SentHere[sent.CommandId] = 0;
        return true;
    }

    /// <summary>The device's PUBACK of a command: this connection no longer needs to remember it sent it.</summary>
    public void Acknowledged(string deviceId, string commandId)
    {
        if (routes.TryGet(deviceId, out var route) && _routeStates.TryGetValue(route, out var state))
        {
            state.SentHere.TryRemove(commandId, out _);
        }
    }

    /// <summary>How many commands the device's current connection is remembered to have in its session unacknowledged (for tests and diagnostics).</summary>
    internal int SentUnacknowledgedCount(string deviceId) =>
        routes.TryGet(deviceId, out var route) && _routeStates.TryGetValue(route, out var state) ? state.SentHere.Count : 0;

    /// <summary>
    /// One connection's dispatch state; <see cref="SeenThrough"/> is used under the device's flush lock only, while
    /// <see cref="SentHere"/> also loses entries on PUBACKs, so it stays bounded by the device's open queue on a
    /// connection that lives for months.
    /// </summary>
    private sealed class RouteState
    {
        public ConcurrentDictionary<string, byte> SentHere { get; } = new(StringComparer.Ordinal);

        /// <summary>Every open command of the device with a seq up to this one is in the session or final; -1 = unknown.</summary>
        public long SeenThrough { get; set; } = -1;

        /// <summary>Forgets every command not still in state sent in <paramref name="open"/> (the device's whole open queue).</summary>
        public void KeepOnlySent(IReadOnlyList<CommandRecord> open)
        {
            if (SentHere.IsEmpty)
            {
                return;
            }

            var stillSent = open.Where(c => c.State == CommandState.Sent).Select(c => c.CommandId).ToHashSet(StringComparer.Ordinal);
            foreach (var commandId in SentHere.Keys)
            {
                if (!stillSent.Contains(commandId))
                {
                    SentHere.TryRemove(commandId, out _);
                }
            }
        }
    }
}
