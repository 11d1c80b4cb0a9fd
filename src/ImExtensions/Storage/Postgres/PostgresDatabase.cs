using System.Collections.Concurrent;
using Npgsql;

namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>
/// The shared PostgreSQL database of a cluster: one pooled <see cref="NpgsqlDataSource"/> for every PostgreSQL store.
/// Each store creates its own tables on first use through <see cref="EnsureSchemaAsync"/> (idempotent DDL), so a store
/// brings its schema with it and a fresh database needs no migration step.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _schemas = new(StringComparer.Ordinal);

    public PostgresDatabase(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("Storage:PostgreSQL:ConnectionString is required when Storage:Provider is PostgreSQL.");
        }

        DataSource = NpgsqlDataSource.Create(connectionString);
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>Runs <paramref name="ddl"/> (CREATE … IF NOT EXISTS) once per process for the schema named <paramref name="name"/>.</summary>
    /// <remarks>A session advisory lock serialises the DDL across nodes starting at once (concurrent CREATE IF NOT EXISTS can still collide in PostgreSQL).</remarks>
    public Task EnsureSchemaAsync(string name, string ddl, CancellationToken cancellationToken)
    {
        var lazy = _schemas.GetOrAdd(name, _ => new Lazy<Task>(() => CreateSchemaAsync(ddl)));
        var task = lazy.Value;
        if (task.IsFaulted)
        {
            _schemas.TryRemove(new KeyValuePair<string, Lazy<Task>>(name, lazy)); // a later call tries again
        }

        return task.WaitAsync(cancellationToken);
    }

    private async Task CreateSchemaAsync(string ddl)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(7321001)", connection))
        {
            await lockCommand.ExecuteNonQueryAsync();
        }

        try
        {
            await using var command = new NpgsqlCommand(ddl, connection);
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(7321001)", connection);
            await unlock.ExecuteNonQueryAsync();
        }
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
