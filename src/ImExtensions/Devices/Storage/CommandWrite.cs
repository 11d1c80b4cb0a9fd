namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>One write of a command group commit (<see cref="ICommandStore.ApplyAsync"/>).</summary>
public abstract record CommandWrite;

/// <summary>Store a new command as queued with the device's next seq, unless the device has <paramref name="MaxOpenPerDevice"/> open ones.</summary>
public sealed record CreateCommandWrite(CommandDraft Draft, int MaxOpenPerDevice) : CommandWrite;

/// <summary>Move a command to <paramref name="To"/> if its state is one of <paramref name="From"/>.</summary>
public sealed record TransitionCommandWrite(string CommandId, IReadOnlyCollection<CommandState> From, CommandState To, long AtMs, string? Detail, string? Result) : CommandWrite;
