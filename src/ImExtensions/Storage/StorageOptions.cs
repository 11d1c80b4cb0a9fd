using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Storage;

/// <summary>Configuration section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>
    /// Which durable store every store interface uses: <c>Sqlite</c> (embedded, single node only), <c>PostgreSQL</c> or
    /// <c>MongoDB</c> (shared by all nodes of a cluster).
    /// </summary>
    [RegularExpression("^(Sqlite|PostgreSQL|MongoDB)$")]
    public string Provider { get; set; } = StorageProviders.Sqlite;

    /// <summary>Where the embedded database and generated keys live; relative paths are taken from the working directory.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Embedded store durability: <c>Full</c> fsyncs the message log every group commit and SQLite every transaction (survives
    /// power loss), <c>Normal</c> survives a process crash only.
    /// </summary>
    [RegularExpression("^(Full|Normal)$")]
    public string Synchronous { get; set; } = "Full";

    /// <summary>
    /// How long an SQLite statement waits for the database file while another process (a backup, the sqlite3 shell)
    /// holds its write lock, before the commit fails and is retried.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan SqliteBusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most messages one group commit writes.</summary>
    [Range(1, 100_000)]
    public int MaxCommitBatch { get; set; } = 2048;

    /// <summary>Section <c>Storage:PostgreSQL</c>, used when <see cref="Provider"/> is <c>PostgreSQL</c>.</summary>
    public PostgresStorageOptions PostgreSQL { get; set; } = new();

    /// <summary>Section <c>Storage:MongoDB</c>, used when <see cref="Provider"/> is <c>MongoDB</c>.</summary>
    public MongoStorageOptions MongoDB { get; set; } = new();
}

/// <summary>The names <see cref="StorageOptions.Provider"/> accepts.</summary>
public static class StorageProviders
{
    public const string Sqlite = "Sqlite";
    public const string PostgreSQL = "PostgreSQL";
    public const string MongoDB = "MongoDB";
}

/// <summary>Configuration section <c>Storage:PostgreSQL</c>.</summary>
public sealed class PostgresStorageOptions
{
    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Port=5432;Username=mqttim;Password=…;Database=mqttim</c>.</summary>
    public string ConnectionString { get; set; } = "";
}

/// <summary>Configuration section <c>Storage:MongoDB</c>.</summary>
public sealed class MongoStorageOptions
{
    /// <summary>A MongoDB connection string, e.g. <c>mongodb://db:27017/?replicaSet=rs0</c>.</summary>
    public string ConnectionString { get; set; } = "";

    public string Database { get; set; } = "mqttim";
}
