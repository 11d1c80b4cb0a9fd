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

        DataSource = NpgsqlDataSource.Create(WithPoolDefaults(connectionString));
    }

    /// <summary>
    /// Per-message statements cost a parse and plan each unless prepared, and every pooled open sent a <c>DISCARD ALL</c>
    /// (which would also drop prepared statements): the profile of the cluster chat row counted one per statement. So,
    /// unless the connection string says otherwise, the hot statements are prepared automatically and a returned
    /// connection is not reset (the stores leave no session state behind: locks are per transaction, the schema lock is released).
    /// </summary>
    internal static string WithPoolDefaults(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        bool Given(params string[] names) => names.Any(given.ContainsKey);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Given("Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 64;
        }

        if (!Given("Auto Prepare Min Usages", "AutoPrepareMinUsages"))
        {
            builder.AutoPrepareMinUsages = 2;
        }

        if (!Given("No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
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
