namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>Commands with their per-device seq, states and timestamped transitions.</summary>
/// <remarks>Implementations: SQLite, PostgreSQL, MongoDB; all pass <c>CommandStoreContract</c>.</remarks>
public interface ICommandStore
{
    /// <summary>
    /// Stores the command as queued with the device's next seq; null when the device already has
    /// <paramref name="maxOpenPerDevice"/> open (queued, sent or delivered) commands.
    /// </summary>
    Task<CommandRecord?> CreateAsync(CommandDraft draft, int maxOpenPerDevice, CancellationToken cancellationToken);

    Task<CommandRecord?> GetAsync(string commandId, CancellationToken cancellationToken);

    /// <summary>Moves the command to <paramref name="to"/> only if its state is one of <paramref name="from"/>; the updated record, or null.</summary>
    Task<CommandRecord?> TransitionAsync(string commandId, IReadOnlyCollection<CommandState> from, CommandState to, long atMs, string? detail, string? result, CancellationToken cancellationToken);

    /// <summary>
    /// Applies <paramref name="writes"/> in order, as one group commit where the backend has transactions (a later write
    /// sees the earlier ones); one result per write: the created or moved record, or null where <see cref="CreateAsync"/>
    /// or <see cref="TransitionAsync"/> would return null. Either every write is durable when it returns, or it throws.
    /// </summary>
    Task<IReadOnlyList<CommandRecord?>> ApplyAsync(IReadOnlyList<CommandWrite> writes, CancellationToken cancellationToken);

    /// <summary>The device's commands with seq &gt; <paramref name="afterSeq"/>, in seq order.</summary>
    Task<IReadOnlyList<CommandRecord>> ListByDeviceAsync(string deviceId, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>Open commands (queued, sent, delivered), of one device or of all when <paramref name="deviceId"/> is null, by device then seq.</summary>
    Task<IReadOnlyList<CommandRecord>> ListOpenAsync(string? deviceId, int limit, CancellationToken cancellationToken);
}
