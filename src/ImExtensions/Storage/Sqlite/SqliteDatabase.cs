using Microsoft.Data.Sqlite;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>
/// The embedded database file shared by the SQLite stores: the schema, one writer connection behind a lock
/// (SQLite has one writer at a time anyway), and pooled reader connections (WAL lets them run beside the writer).
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    // Every commit writes each page it changed whole to the WAL; the busy rows (conversation heads, unread totals,
    // device and session state) are small, so 2 KB pages halve those bytes against SQLite's 4 KB default. Only a new
    // database takes it; an existing one keeps the page size it was created with.
    private const int PageSizeBytes = 2048;

    // Busy conversations rewrite the same few hundred pages every commit; a checkpoint copies each page once however
    // often it changed since the last one, so checkpointing every 16 MB of WAL instead of 4 MB writes (and fsyncs) the
    // database file a quarter as often (SQLite's default is 1,000 pages).
    private const int WalAutoCheckpointPages = 16 * 1024 * 1024 / PageSizeBytes;

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Writes another component holds back to batch them (the message log's conversation heads), applied first in
    // every transaction, so nothing reads this database without them.
    private ISqliteDeferredWrites? _deferred;

    public SqliteDatabase(string databasePath, bool fullSync, TimeSpan? busyTimeout = null)
    {
        FilePath = Path.GetFullPath(databasePath);
        FullSync = fullSync;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling((busyTimeout ?? TimeSpan.FromSeconds(30)).TotalSeconds),
        }.ToString();
        _writer = new SqliteConnection(_connectionString);
        _writer.Open();
        Execute($"""
            PRAGMA page_size={PageSizeBytes};
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous={(fullSync ? "FULL" : "NORMAL")};
            PRAGMA wal_autocheckpoint={WalAutoCheckpointPages};
            CREATE TABLE IF NOT EXISTS conversations (
                conversation_id TEXT PRIMARY KEY,
                max_seq INTEGER NOT NULL,
                last_activity_ms INTEGER NOT NULL,
                last_message BLOB) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS user_conversations (
                user_id TEXT NOT NULL,
                conversation_id TEXT NOT NULL,
                read_seq INTEGER NOT NULL DEFAULT 0,
                joined_seq INTEGER NOT NULL DEFAULT 1,
                pinned INTEGER NOT NULL DEFAULT 0,
                muted INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (user_id, conversation_id)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS ix_user_conversations_conversation ON user_conversations (conversation_id);
            CREATE TABLE IF NOT EXISTS groups (
                group_id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                owner_id TEXT NOT NULL,
                all_muted INTEGER NOT NULL DEFAULT 0,
                dissolved INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS group_members (
                group_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                role INTEGER NOT NULL,
                joined_seq INTEGER NOT NULL,
                muted_until_ms INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (group_id, user_id)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS ix_group_members_user ON group_members (user_id, group_id);
            """);
        SqliteUnreadTotals.EnsureSchema(_writer);
    }

    /// <summary>The database file's full path; the message log lives beside it.</summary>
    public string FilePath { get; }

    /// <summary>Whether commits fsync (<c>Storage:Synchronous</c> Full); stores beside the file follow the same rule.</summary>
    public bool FullSync { get; }

    /// <summary>Makes every later transaction on this database apply <paramref name="deferred"/>'s pending writes first.</summary>
    public void AttachDeferredWrites(ISqliteDeferredWrites deferred)
    {
        if (Interlocked.CompareExchange(ref _deferred, deferred, null) is { } attached && !ReferenceEquals(attached, deferred))
        {
            throw new InvalidOperationException($"{FilePath} already applies another component's deferred writes.");
        }
    }

    /// <summary>Applies the pending deferred writes now (a no-op when there are none).</summary>
    public Task FlushDeferredWritesAsync(CancellationToken cancellationToken) =>
        _deferred is { HasPending: true } ? WriteAsync(static (_, _) => true, cancellationToken) : Task.CompletedTask;

    /// <summary>Runs <paramref name="work"/> in one write transaction on the writer connection; commits when it returns.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var deferred = _deferred;
        try
        {
            if (deferred is not null)
            {
                // Before the transaction begins: whoever applies these holds this while waiting for SQLite's file lock.
                await deferred.EnterAsync(cancellationToken).ConfigureAwait(false);
            }

            var committed = false;
            try
            {
                using var transaction = _writer.BeginTransaction();
                deferred?.Apply(_writer, transaction);
                var result = work(_writer, transaction);
                transaction.Commit();
                committed = true;
                return result;
            }
            finally
            {
                deferred?.Exit(committed);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Creates a feature store's tables (idempotent <c>CREATE … IF NOT EXISTS</c>), so each store brings its own schema.</summary>
    public void EnsureSchema(string ddl)
    {
        _writeLock.Wait();
        try
        {
            Execute(ddl);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> on the writer connection, outside any transaction: for a store's start-up (recovery, migration).</summary>
    public T RunAtStart<T>(Func<SqliteConnection, T> work)
    {
        _writeLock.Wait();
        try
        {
            return work(_writer);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        await FlushDeferredWritesAsync(cancellationToken).ConfigureAwait(false);
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public void Dispose()
    {
        _writer.Dispose();
        _writeLock.Dispose();
    }

    private void Execute(string sql)
    {
        using var command = _writer.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>
/// Writes a component holds back from its hot path and applies in the next transaction on the database (any store's, or
/// an explicit flush), so readers of the database always see them: <see cref="EnterAsync"/> before the transaction
/// begins, <see cref="Apply"/> inside it, <see cref="Exit"/> with whether it committed.
/// </summary>
internal interface ISqliteDeferredWrites
{
    bool HasPending { get; }

    Task EnterAsync(CancellationToken cancellationToken);

    /// <summary>Writes what is pending into the transaction (what it took stays owed until <see cref="Exit"/> says it committed).</summary>
    void Apply(SqliteConnection connection, SqliteTransaction transaction);

    void Exit(bool committed);
}
