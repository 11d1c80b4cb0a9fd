using Microsoft.Data.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.PushBridge.Outcomes;
using static MqttIm.PushBridge.Storage.Sqlite.SqlitePushTokenStore;

namespace MqttIm.PushBridge.Storage.Sqlite;

/// <summary>Embedded outcome records, with a side table (outcome, message id) so per-message queries use an index.</summary>
internal sealed class SqlitePushOutcomeStore : IPushOutcomeStore
{
    private const string Columns = "o.job_id, o.user_id, o.message_ids, o.vendor, o.app_id, o.token, o.result, o.detail, o.attempts, o.at_ms";
    private readonly SqliteDatabase _database;

    public SqlitePushOutcomeStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS push_outcomes (
                id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, user_id TEXT NOT NULL, message_ids TEXT NOT NULL, vendor TEXT NOT NULL,
                app_id TEXT NOT NULL, token TEXT NOT NULL, result TEXT NOT NULL, detail TEXT NOT NULL, attempts INTEGER NOT NULL, at_ms INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_push_outcomes_user ON push_outcomes (user_id, id);
            CREATE TABLE IF NOT EXISTS push_outcome_messages (message_id TEXT NOT NULL, outcome_id INTEGER NOT NULL, PRIMARY KEY (message_id, outcome_id)) WITHOUT ROWID;
            """);
    }

    public Task AddAsync(PushOutcome outcome, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) => Add(connection, transaction, outcome), cancellationToken);

    /// <summary>The batch in one write transaction: one commit (and fsync) for all of it.</summary>
    public Task AddManyAsync(IReadOnlyList<PushOutcome> outcomes, CancellationToken cancellationToken) => _database.WriteAsync((connection, transaction) =>
    {
        foreach (var outcome in outcomes)
        {
            Add(connection, transaction, outcome);
        }

        return outcomes.Count;
    }, cancellationToken);

    private static long Add(SqliteConnection connection, SqliteTransaction transaction, PushOutcome outcome)
    {
        using var insert = Command(connection, transaction, """
            INSERT INTO push_outcomes (job_id, user_id, message_ids, vendor, app_id, token, result, detail, attempts, at_ms)
            VALUES ($job, $user, $ids, $vendor, $app, $token, $result, $detail, $attempts, $at) RETURNING id
            """, ("$job", outcome.JobId), ("$user", outcome.UserId), ("$ids", string.Join('\n', outcome.MessageIds)), ("$vendor", outcome.Vendor),
            ("$app", outcome.AppId), ("$token", outcome.Token), ("$result", outcome.Result), ("$detail", outcome.Detail), ("$attempts", outcome.Attempts), ("$at", outcome.AtMs));
        var id = (long)insert.ExecuteScalar()!;
        foreach (var messageId in outcome.MessageIds.Distinct())
        {
            using var link = Command(connection, transaction, "INSERT OR IGNORE INTO push_outcome_messages VALUES ($message, $id)", ("$message", messageId), ("$id", id));
            link.ExecuteNonQuery();
        }

        return id;
    }

    public Task<IReadOnlyList<PushOutcome>> GetForUserAsync(string userId, int limit, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM push_outcomes o WHERE o.user_id = $key ORDER BY o.id DESC LIMIT {Math.Max(1, limit)}", userId, cancellationToken);

    public Task<IReadOnlyList<PushOutcome>> GetForMessageAsync(string messageId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM push_outcome_messages m JOIN push_outcomes o ON o.id = m.outcome_id WHERE m.message_id = $key ORDER BY o.id", messageId, cancellationToken);

    private async Task<IReadOnlyList<PushOutcome>> QueryAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = Command(connection, null, sql, ("$key", key));
        using var reader = command.ExecuteReader();
        var outcomes = new List<PushOutcome>();
        while (reader.Read())
        {
            outcomes.Add(Read(reader));
        }

        return outcomes;
    }

    private static PushOutcome Read(SqliteDataReader r) => new(r.GetString(0), r.GetString(1),
        r.GetString(2).Length == 0 ? [] : r.GetString(2).Split('\n'), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7), r.GetInt32(8), r.GetInt64(9));
}
