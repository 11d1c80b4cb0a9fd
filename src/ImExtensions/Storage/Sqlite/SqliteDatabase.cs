using Microsoft.Data.Sqlite;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>
/// The embedded database file shared by the SQLite stores: the schema, one writer connection behind a lock
/// (SQLite has one writer at a time anyway), and pooled reader connections (WAL lets them run beside the writer).
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    // Every commit writes each page it changed whole to the WAL, and a chat message changes about two (its
    // conversation's tail of messages and of the client-msg-id index): 2 KB pages halve those bytes against SQLite's
    // 4 KB default while a typical message body (a few hundred bytes) still fits a leaf without overflow pages.
    // Only a new database takes it; an existing one keeps the page size it was created with.
    private const int PageSizeBytes = 2048;

    // Busy conversations rewrite the same few hundred pages every commit; a checkpoint copies each page once however
    // often it changed since the last one, so checkpointing every 16 MB of WAL instead of 4 MB writes (and fsyncs) the
    // database file a quarter as often (SQLite's default is 1,000 pages).
    private const int WalAutoCheckpointPages = 16 * 1024 * 1024 / PageSizeBytes;

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public SqliteDatabase(string databasePath, bool fullSync, TimeSpan? busyTimeout = null)
    {
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
            CREATE TABLE IF NOT EXISTS messages (
                conversation_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                sender_id TEXT NOT NULL,
                client_msg_id TEXT NOT NULL,
                body BLOB NOT NULL,
                PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
            DROP INDEX IF EXISTS ux_messages_client_msg;
            CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_conversation_client_msg
                ON messages (conversation_id, sender_id, client_msg_id) WHERE client_msg_id <> '';
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

    /// <summary>Runs <paramref name="work"/> in one write transaction on the writer connection; commits when it returns.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _writer.BeginTransaction();
            var result = work(_writer, transaction);
            transaction.Commit();
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> on the writer connection in one read transaction. For reads on the commit path: the
    /// writer's page cache is always current, where a pooled reader re-reads the pages every commit invalidated.
    /// </summary>
    public async Task<T> ReadOnWriterAsync<T>(Func<SqliteConnection, SqliteTransaction, T> read, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _writer.BeginTransaction(deferred: true);
            var result = read(_writer, transaction);
            transaction.Commit();
            return result;
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

    public async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
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
