namespace MqttIm.PushBridge.Jobs;

/// <summary>
/// The durable queue of pending push jobs: a job saved here survives a crash and is sent after the restart; it is deleted
/// once its outcome is recorded. Implementations: SQLite, PostgreSQL, MongoDB; all pass <c>PushJobStoreContract</c>.
/// </summary>
public interface IPushJobStore
{
    /// <summary>Inserts the job or replaces the one with the same id (a merge or a reschedule).</summary>
    Task SaveAsync(PushJob job, CancellationToken cancellationToken);

    /// <summary>Deletes the job; false when it was not there (already sent or cancelled).</summary>
    Task<bool> DeleteAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// Saves and deletes in order, as one commit where the backend has transactions (<see cref="GroupCommittingPushStores"/>
    /// gathers concurrent writers into one call); durable when it returns. One result per write: true for a save, and for
    /// a delete whether the job was there.
    /// </summary>
    Task<IReadOnlyList<bool>> ApplyAsync(IReadOnlyList<PushJobWrite> writes, CancellationToken cancellationToken);

    /// <summary>Every pending job, earliest due first (loaded at start-up).</summary>
    Task<IReadOnlyList<PushJob>> GetAllAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<PushJob>> GetForUserAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>One write of a batch: save <see cref="Save"/> (insert or replace), or delete the job <see cref="DeleteId"/>.</summary>
public sealed record PushJobWrite(PushJob? Save, string? DeleteId)
{
    public static PushJobWrite Saving(PushJob job) => new(job, null);

    public static PushJobWrite Deleting(string jobId) => new(null, jobId);
}
