using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.PushBridge.Outcomes;

namespace MqttIm.PushBridge.Storage.Postgres;

/// <summary>Outcome records in PostgreSQL; message ids as a text[] with a GIN index for per-message queries.</summary>
internal sealed class PostgresPushOutcomeStore(PostgresDatabase database) : IPushOutcomeStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS push_outcomes (
            id bigserial PRIMARY KEY, job_id text NOT NULL, user_id text NOT NULL, message_ids text[] NOT NULL, vendor text NOT NULL,
            app_id text NOT NULL, token text NOT NULL, result text NOT NULL, detail text NOT NULL, attempts integer NOT NULL, at_ms bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_push_outcomes_user ON push_outcomes (user_id, id);
        CREATE INDEX IF NOT EXISTS ix_push_outcomes_messages ON push_outcomes USING gin (message_ids);
        """;

    private const string Columns = "job_id, user_id, message_ids, vendor, app_id, token, result, detail, attempts, at_ms";

    public Task AddAsync(PushOutcome outcome, CancellationToken cancellationToken) => AddManyAsync([outcome], cancellationToken);

    /// <summary>The batch in one transaction (one commit).</summary>
    public async Task AddManyAsync(IReadOnlyList<PushOutcome> outcomes, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("push_outcomes", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var outcome in outcomes)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO push_outcomes ({Columns}) VALUES (@job, @user, @ids, @vendor, @app, @token, @result, @detail, @attempts, @at)";
            command.Parameters.AddWithValue("job", outcome.JobId);
            command.Parameters.AddWithValue("user", outcome.UserId);
            command.Parameters.AddWithValue("ids", outcome.MessageIds.ToArray());
            command.Parameters.AddWithValue("vendor", outcome.Vendor);
            command.Parameters.AddWithValue("app", outcome.AppId);
            command.Parameters.AddWithValue("token", outcome.Token);
            command.Parameters.AddWithValue("result", outcome.Result);
            command.Parameters.AddWithValue("detail", outcome.Detail);
            command.Parameters.AddWithValue("attempts", outcome.Attempts);
            command.Parameters.AddWithValue("at", outcome.AtMs);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<PushOutcome>> GetForUserAsync(string userId, int limit, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM push_outcomes WHERE user_id = @key ORDER BY id DESC LIMIT {Math.Max(1, limit)}", userId, cancellationToken);

    public Task<IReadOnlyList<PushOutcome>> GetForMessageAsync(string messageId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM push_outcomes WHERE message_ids @> ARRAY[@key] ORDER BY id", messageId, cancellationToken);

    private async Task<IReadOnlyList<PushOutcome>> QueryAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("push_outcomes", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var outcomes = new List<PushOutcome>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            outcomes.Add(new PushOutcome(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8), reader.GetInt64(9)));
        }

        return outcomes;
    }
}
