using MqttIm.ImExtensions.BrokerState.Store;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.Storage.ContractTests.Embedded;
using MqttIm.Testing;

namespace MqttIm.Storage.ContractTests.BrokerState;

public sealed class SqliteBrokerStateStoreTests : BrokerStateStoreContract
{
    private readonly TempSqliteDatabase _files = new();
    private SqliteDatabase? _database;

    internal override Task<IBrokerStateStore> CreateAsync()
    {
        _database = _files.Open();
        return Task.FromResult<IBrokerStateStore>(new SqliteBrokerStateStore(_database));
    }

    protected override Task DisposeStoreAsync()
    {
        _database?.Dispose();
        _files.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresBrokerStateStoreTests(PostgresServer server) : BrokerStateStoreContract, IClassFixture<PostgresServer>
{
    private PostgresDatabase? _database;

    internal override async Task<IBrokerStateStore> CreateAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync());
        return new PostgresBrokerStateStore(_database);
    }

    protected override async Task DisposeStoreAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoBrokerStateStoreTests : BrokerStateStoreContract
{
    private MongoDatabaseHandle? _handle;

    internal override Task<IBrokerStateStore> CreateAsync()
    {
        _handle = new MongoDatabaseHandle(MongoEnvironment.RequireUri(), MongoEnvironment.UniqueDatabaseName());
        return Task.FromResult<IBrokerStateStore>(new MongoBrokerStateStore(_handle));
    }

    protected override async Task DisposeStoreAsync()
    {
        if (_handle is not null)
        {
            await _handle.Client.DropDatabaseAsync(_handle.Database.DatabaseNamespace.DatabaseName);
        }
    }
}
