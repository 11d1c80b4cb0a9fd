using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.PushBridge.Jobs;
using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Storage.Mongo;
using MqttIm.PushBridge.Storage.Postgres;
using MqttIm.PushBridge.Storage.Sqlite;
using MqttIm.PushBridge.Tokens;
using MqttIm.Storage.ContractTests.Embedded;
using MqttIm.Testing;

namespace MqttIm.Storage.ContractTests.Push;

/// <summary>One backend's three push stores over one fresh database; <see cref="ReopenAsync"/> opens new store objects on the same data (a restart).</summary>
public abstract class PushBackend : IAsyncDisposable
{
    public abstract Task<(IPushTokenStore Tokens, IPushJobStore Jobs, IPushOutcomeStore Outcomes)> OpenAsync();

    public abstract ValueTask DisposeAsync();
}

internal sealed class SqlitePushBackend : PushBackend
{
    private readonly TempSqliteDatabase _files = new();
    private readonly List<MqttIm.ImExtensions.Storage.Sqlite.SqliteDatabase> _open = [];

    public override Task<(IPushTokenStore, IPushJobStore, IPushOutcomeStore)> OpenAsync()
    {
        var database = _files.Open();
        _open.Add(database);
        return Task.FromResult<(IPushTokenStore, IPushJobStore, IPushOutcomeStore)>(
            (new SqlitePushTokenStore(database), new SqlitePushJobStore(database), new SqlitePushOutcomeStore(database)));
    }

    public override ValueTask DisposeAsync()
    {
        _open.ForEach(d => d.Dispose());
        _files.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal sealed class PostgresPushBackend(PostgresServer server) : PushBackend
{
    private readonly List<PostgresDatabase> _open = [];
    private string? _connectionString;

    public override async Task<(IPushTokenStore, IPushJobStore, IPushOutcomeStore)> OpenAsync()
    {
        _connectionString ??= await server.CreateDatabaseAsync();
        var database = new PostgresDatabase(_connectionString);
        _open.Add(database);
        return (new PostgresPushTokenStore(database), new PostgresPushJobStore(database), new PostgresPushOutcomeStore(database));
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var database in _open)
        {
            await database.DisposeAsync();
        }
    }
}

internal sealed class MongoPushBackend : PushBackend
{
    private readonly string _database = MongoEnvironment.UniqueDatabaseName();
    private MongoDatabaseHandle? _handle;

    public override Task<(IPushTokenStore, IPushJobStore, IPushOutcomeStore)> OpenAsync()
    {
        _handle = new MongoDatabaseHandle(MongoEnvironment.RequireUri(), _database);
        return Task.FromResult<(IPushTokenStore, IPushJobStore, IPushOutcomeStore)>(
            (new MongoPushTokenStore(_handle), new MongoPushJobStore(_handle), new MongoPushOutcomeStore(_handle)));
    }

    public override async ValueTask DisposeAsync()
    {
        if (_handle is not null)
        {
            await _handle.Client.DropDatabaseAsync(_database);
        }
    }
}
