namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>Where a command is in its lifecycle (docs/PROTOCOL.md "Devices").</summary>
public enum CommandState
{
    Queued,
    Sent,
    Delivered,
    Succeeded,
    Failed,
    Rejected,
    TimedOut,
    Expired,
    Canceled,
}

/// <summary>One timestamped state change of a command.</summary>
public sealed record CommandTransition(CommandState State, long AtMs, string? Detail);

/// <summary>What an issuer asks for; the store adds the per-device seq.</summary>
/// <param name="Payload">JSON text handed to the device.</param>
/// <param name="TimeoutMs">How long after delivery the device has to reply before the command is timed_out.</param>
/// <param name="MaxRetries">How often a failed or timed-out command is queued again.</param>
public sealed record CommandDraft(
    string CommandId,
    string DeviceId,
    string Name,
    string Payload,
    long CreatedMs,
    long ExpiresAtMs,
    long TimeoutMs,
    int MaxRetries,
    string IssuedBy);

/// <summary>A stored command with its state and history.</summary>
/// <param name="Seq">Per device, contiguous from 1 (like a conversation's seq).</param>
/// <param name="Attempts">How many times it was sent.</param>
/// <param name="Result">The device's reply (JSON text) once it replied.</param>
public sealed record CommandRecord(
    string CommandId,
    string DeviceId,
    long Seq,
    string Name,
    string Payload,
    CommandState State,
    long CreatedMs,
    long ExpiresAtMs,
    long TimeoutMs,
    int Attempts,
    int MaxRetries,
    string IssuedBy,
    string? Result,
    IReadOnlyList<CommandTransition> History)
{
    public bool IsOpen => State is CommandState.Queued or CommandState.Sent or CommandState.Delivered;

    /// <summary>When the current state was entered.</summary>
    public long StateSinceMs => History.Count > 0 ? History[^1].AtMs : CreatedMs;

    public static CommandRecord FromDraft(CommandDraft draft, long seq) => new(
        draft.CommandId, draft.DeviceId, seq, draft.Name, draft.Payload, CommandState.Queued, draft.CreatedMs, draft.ExpiresAtMs,
        draft.TimeoutMs, 0, draft.MaxRetries, draft.IssuedBy, null, [new CommandTransition(CommandState.Queued, draft.CreatedMs, null)]);

    /// <summary>The record after moving to <paramref name="to"/>; sending counts an attempt.</summary>
    public CommandRecord With(CommandState to, long atMs, string? detail, string? result) => this with
    {
        State = to,
        Attempts = to == CommandState.Sent ? Attempts + 1 : Attempts,
        Result = result ?? Result,
        History = [.. History, new CommandTransition(to, atMs, detail)],
    };
}
