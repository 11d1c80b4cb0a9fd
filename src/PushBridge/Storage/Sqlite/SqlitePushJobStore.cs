using Microsoft.Data.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.PushBridge.Jobs;
using static MqttIm.PushBridge.Storage.Sqlite.SqlitePushTokenStore;

namespace MqttIm.PushBridge.Storage.Sqlite;

/// <summary>The embedded durable job queue: one row per pending job, written through the broker's fsync'd writer.</summary>
internal sealed class SqlitePushJobStore : IPushJobStore
{
    private readonly SqliteDatabase _database;

    public SqlitePushJobStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS push_jobs (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, due_ms INTEGER NOT NULL, job TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS ix_push_jobs_user ON push_jobs (user_id);
            """);
    }

    public Task SaveAsync(PushJob job, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) => Save(connection, transaction, job), cancellationToken);

    public Task<bool> DeleteAsync(string jobId, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) => Delete(connection, transaction, jobId), cancellationToken);

    /// <summary>The batch in one write transaction: one commit (and fsync) for all of it.</summary>
    public Task<IReadOnlyList<bool>> ApplyAsync(IReadOnlyList<PushJobWrite> writes, CancellationToken cancellationToken) =>
        _database.WriteAsync<IReadOnlyList<bool>>((connection, transaction) =>
            [.. writes.Select(write => write.Save is { } job ? Save(connection, transaction, job) > 0 : Delete(connection, transaction, write.DeleteId!))], cancellationToken);

    private static int Save(SqliteConnection connection, SqliteTransaction transaction, PushJob job)
    {
        using var command = Command(connection, transaction, "INSERT OR REPLACE INTO push_jobs VALUES ($id, $user, $due, $job)",
            ("$id", job.Id), ("$user", job.UserId), ("$due", job.DueMs), ("$job", PushJobJson.Serialize(job)));
        return command.ExecuteNonQuery();
    }

    private static bool Delete(SqliteConnection connection, SqliteTransaction transaction, string jobId)
    {
        using var command = Command(connection, transaction, "DELETE FROM push_jobs WHERE id = $id", ("$id", jobId));
        return command.ExecuteNonQuery() > 0;
    }

    public Task<IReadOnlyList<PushJob>> GetAllAsync(CancellationToken cancellationToken) => QueryAsync("SELECT job FROM push_jobs ORDER BY due_ms, id", null, cancellationToken);

    public Task<IReadOnlyList<PushJob>> GetForUserAsync(string userId, CancellationToken cancellationToken) =>
        QueryAsync("SELECT job FROM push_jobs WHERE user_id = $user ORDER BY due_ms, id", userId, cancellationToken);

    private async Task<IReadOnlyList<PushJob>> QueryAsync(string sql, string? userId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = userId is null ? Command(connection, null, sql) : Command(connection, null, sql, ("$user", userId));
        using var reader = command.ExecuteReader();
        var jobs = new List<PushJob>();
        while (reader.Read())
        {
            jobs.Add(PushJobJson.Deserialize(reader.GetString(0)));
        }

        return jobs;
    }
}
