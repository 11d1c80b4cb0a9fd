namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>Schedule definitions, re-registered with Quartz at start so they survive restarts.</summary>
/// <remarks>Implementations: SQLite, PostgreSQL, MongoDB; all pass <c>ScheduleStoreContract</c>.</remarks>
public interface IScheduleStore
{
    /// <summary>Creates or replaces the schedule.</summary>
    Task UpsertAsync(CommandSchedule schedule, CancellationToken cancellationToken);

    Task<CommandSchedule?> GetAsync(string scheduleId, CancellationToken cancellationToken);

    Task<IReadOnlyList<CommandSchedule>> ListAsync(CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string scheduleId, CancellationToken cancellationToken);
}
