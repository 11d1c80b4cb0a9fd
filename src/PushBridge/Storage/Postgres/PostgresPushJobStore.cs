using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.PushBridge.Jobs;
using NpgsqlTypes;

namespace MqttIm.PushBridge.Storage.Postgres;

/// <summary>The durable job queue in PostgreSQL: one row per pending job, the job itself as jsonb.</summary>
internal sealed class PostgresPushJobStore(PostgresDatabase database) : IPushJobStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS push_jobs (id text PRIMARY KEY, user_id text NOT NULL, due_ms bigint NOT NULL, job jsonb NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_push_jobs_user ON push_jobs (user_id);
        """;

    public async Task SaveAsync(PushJob job, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("push_jobs", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand("""
            INSERT INTO push_jobs VALUES (@id, @user, @due, @job)
            ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, due_ms = excluded.due_ms, job = excluded.job
            """);
        command.Parameters.AddWithValue("id", job.Id);
        command.Parameters.AddWithValue("user", job.UserId);
        command.Parameters.AddWithValue("due", job.DueMs);
        command.Parameters.AddWithValue("job", NpgsqlDbType.Jsonb, PushJobJson.Serialize(job));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string jobId, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("push_jobs", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand("DELETE FROM push_jobs WHERE id = @id");
        command.Parameters.AddWithValue("id", jobId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>The batch in one transaction (one commit).</summary>
    public async Task<IReadOnlyList<bool>> ApplyAsync(IReadOnlyList<PushJobWrite> writes, CancellationToken cancellationToken)
    {
        var results = new List<bool>(writes.Count);
        await database.EnsureSchemaAsync("push_jobs", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var write in writes)
        {
            await using var command = connection.CreateCommand();
            if (write.Save is { } job)
            {
                command.CommandText = "INSERT INTO push_jobs VALUES (@id, @user, @due, @job) ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, due_ms = excluded.due_ms, job = excluded.job";
                command.Parameters.AddWithValue("id", job.Id);
                command.Parameters.AddWithValue("user", job.UserId);
                command.Parameters.AddWithValue("due", job.DueMs);
                command.Parameters.AddWithValue("job", NpgsqlDbType.Jsonb, PushJobJson.Serialize(job));
            }
            else
            {
                command.CommandText = "DELETE FROM push_jobs WHERE id = @id";
                command.Parameters.AddWithValue("id", write.DeleteId!);
            }

            var rows = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            results.Add(write.Save is not null || rows > 0);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return results;
    }

    public Task<IReadOnlyList<PushJob>> GetAllAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT job::text FROM push_jobs ORDER BY due_ms, id", null, cancellationToken);

    public Task<IReadOnlyList<PushJob>> GetForUserAsync(string userId, CancellationToken cancellationToken) =>
        QueryAsync("SELECT job::text FROM push_jobs WHERE user_id = @user ORDER BY due_ms, id", userId, cancellationToken);

    private async Task<IReadOnlyList<PushJob>> QueryAsync(string sql, string? userId, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("push_jobs", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand(sql);
        if (userId is not null)
        {
            command.Parameters.AddWithValue("user", userId);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new List<PushJob>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(PushJobJson.Deserialize(reader.GetString(0)));
        }

        return jobs;
    }
}
