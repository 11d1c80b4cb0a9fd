using System.Text.Json;

namespace MqttIm.DeviceSdk.Devices;

/// <summary>A command received from the broker on <c>device/{id}/cmd/{commandId}</c>.</summary>
/// <param name="CommandId">Unique id; a redelivery carries the same id.</param>
/// <param name="Seq">Per-device seq, contiguous from 1: a gap means a command was missed.</param>
/// <param name="Name">What to do (e.g. <c>unlock</c>).</param>
/// <param name="Payload">The issuer's JSON arguments.</param>
/// <param name="ExpiresAtMs">After this (Unix ms) the broker no longer waits for the command.</param>
public sealed record DeviceCommand(string CommandId, long Seq, string Name, JsonElement Payload, long ExpiresAtMs);

/// <summary>How a command ended on the device: the reply's <c>status</c>.</summary>
public enum CommandStatus
{
    /// <summary>Done.</summary>
    Succeeded,

    /// <summary>Tried and failed (the broker may retry it when the issuer allowed retries).</summary>
    Failed,

    /// <summary>Refused without trying (unknown command, bad arguments, not allowed now).</summary>
    Rejected,
}

/// <summary>A command handler's answer, sent as the reply.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Result">Any JSON-serialisable value, returned to the issuer.</param>
/// <param name="Message">A short human-readable note.</param>
public sealed record CommandResult(CommandStatus Status, object? Result = null, string? Message = null)
{
    /// <summary>A success with an optional result.</summary>
    public static CommandResult Success(object? result = null) => new(CommandStatus.Succeeded, result);

    /// <summary>A failure with a reason.</summary>
    public static CommandResult Failure(string message) => new(CommandStatus.Failed, null, message);

    /// <summary>A refusal with a reason.</summary>
    public static CommandResult Reject(string message) => new(CommandStatus.Rejected, null, message);
}
