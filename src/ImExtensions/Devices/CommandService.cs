using System.Text.Json;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>What an issuer asks for (HTTP body, RPC request or a schedule).</summary>
/// <param name="Payload">JSON handed to the device (an object, array or value); null = <c>{}</c>.</param>
public sealed record CommandRequest(string Name, JsonElement? Payload, int? ExpirySeconds, int? TimeoutSeconds, int? MaxRetries);

/// <summary>Why a command was not accepted.</summary>
public enum CommandRefusal
{
    None,
    UnknownDevice,
    Invalid,
    QueueFull,
}

/// <summary>Issuing, cancelling and waiting for commands.</summary>
internal sealed class CommandService(
    ICommandStore store,
    CommandCommitQueue writes,
    IDeviceStore devices,
    CommandDispatcher dispatcher,
    CommandOutcomes outcomes,
    CommandWaiters waiters,
    CommandEvents events,
    CommandRoutes routes,
    IIotClusterBus bus,
    IOptions<IotOptions> options,
    TimeProvider clock)
{
    public const int MaxNameLength = 64;

    public async Task<(CommandRecord? Command, CommandRefusal Refusal, string? Reason)> IssueAsync(
        string deviceId, CommandRequest request, string issuedBy, CancellationToken cancellationToken, bool registerWaiter = false)
    {
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > MaxNameLength)
        {
            return (null, CommandRefusal.Invalid, $"name is required, at most {MaxNameLength} characters");
        }

        if (request.ExpirySeconds is <= 0 || request.TimeoutSeconds is <= 0 || request.MaxRetries is < 0 or > 10)
        {
            return (null, CommandRefusal.Invalid, "expirySeconds and timeoutSeconds must be positive, maxRetries 0-10");
        }

        var device = await devices.GetAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return (null, CommandRefusal.UnknownDevice, $"no device {deviceId}");
        }

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var expiry = request.ExpirySeconds is { } e ? TimeSpan.FromSeconds(e) : options.Value.DefaultCommandExpiry;
        var timeout = request.TimeoutSeconds is { } t ? TimeSpan.FromSeconds(t) : options.Value.DefaultCommandTimeout;
        var draft = new CommandDraft(Guid.NewGuid().ToString("N"), deviceId, request.Name, request.Payload?.GetRawText() ?? "{}", now,
            now + (long)expiry.TotalMilliseconds, (long)timeout.TotalMilliseconds, request.MaxRetries ?? 0, issuedBy);
        if (registerWaiter)
        {
            _ = waiters.Register(draft.CommandId);
        }

        try
        {
            CommandRecord? command;
            if (routes.TryGet(deviceId, out _))
            {
                command = await dispatcher.CreateAndSendAsync(draft, options.Value.MaxQueuedCommandsPerDevice, OnCreatedAsync, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // Not connected here: the node that holds the device (if any) sends it; otherwise it waits for the connect.
                command = await writes.CreateAsync(draft, options.Value.MaxQueuedCommandsPerDevice).ConfigureAwait(false);
                if (command is not null)
                {
                    await OnCreatedAsync(command).ConfigureAwait(false);
                    await bus.CommandsQueuedAsync(deviceId).ConfigureAwait(false);
                }
            }

            if (command is null)
            {
                waiters.Forget(draft.CommandId);
                return (null, CommandRefusal.QueueFull, $"device {deviceId} already has {options.Value.MaxQueuedCommandsPerDevice} open commands (Iot:MaxQueuedCommandsPerDevice)");
            }

            return (command, CommandRefusal.None, null);
        }
        catch
        {
            // The caller never gets to wait (the command may be stored all the same: it is sent and swept as usual).
            waiters.Forget(draft.CommandId);
            throw;
        }
    }

    private Task OnCreatedAsync(CommandRecord command)
    {
        DeviceMetrics.Commands.WithLabels("issued").Inc();
        DeviceMetrics.CommandStates.WithLabels("queued").Inc();
        return events.PublishAsync(command);
    }

    /// <summary>Waits up to <paramref name="wait"/> for a final state; returns the command as it is then.</summary>
    public async Task<CommandRecord?> WaitAsync(string commandId, TimeSpan wait, CancellationToken cancellationToken)
    {
        var final = waiters.Register(commandId);
        try
        {
            var current = await store.GetAsync(commandId, cancellationToken).ConfigureAwait(false);
            return current is null || !current.IsOpen ? current : await WaitOrReadAsync(final, commandId, wait, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            waiters.Forget(commandId);
        }
    }

    /// <summary>
    /// <see cref="WaitAsync"/> for a command issued with <c>registerWaiter</c>: its waiter has seen every state since
    /// before the command was stored, so no store read is needed unless the wait times out.
    /// </summary>
    public async Task<CommandRecord?> WaitForIssuedAsync(CommandRecord issued, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            return await WaitOrReadAsync(waiters.Register(issued.CommandId), issued.CommandId, wait, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            waiters.Forget(issued.CommandId);
        }
    }

    private async Task<CommandRecord?> WaitOrReadAsync(Task<CommandRecord> final, string commandId, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            return await final.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return await store.GetAsync(commandId, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<CommandRecord?> GetAsync(string commandId, CancellationToken cancellationToken) => store.GetAsync(commandId, cancellationToken);

    public Task<IReadOnlyList<CommandRecord>> ListAsync(string deviceId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        store.ListByDeviceAsync(deviceId, afterSeq, limit, cancellationToken);

    /// <summary>Cancels an open command; null when it is unknown or already final.</summary>
    public Task<CommandRecord?> CancelAsync(string commandId, CancellationToken cancellationToken) =>
        outcomes.MoveAsync(commandId, [CommandState.Queued, CommandState.Sent, CommandState.Delivered], CommandState.Canceled, "canceled by the issuer", null, cancellationToken);
}
