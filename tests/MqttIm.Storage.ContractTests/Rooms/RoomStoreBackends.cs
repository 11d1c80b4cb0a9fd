using MqttIm.ImExtensions.Rooms.Store;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.Storage.ContractTests.Embedded;
using MqttIm.Testing;

namespace MqttIm.Storage.ContractTests.Rooms;

public sealed class SqliteRoomStoreTests : RoomStoreContract
{
    private readonly TempSqliteDatabase _files = new();
    private SqliteDatabase? _database;

    internal override Task<IRoomStore> CreateAsync()
    {
        _database = _files.Open();
        return Task.FromResult<IRoomStore>(new SqliteRoomStore(_database));
    }

    protected override Task DisposeStoreAsync()
    {
        _database?.Dispose();
        _files.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresRoomStoreTests(PostgresServer server) : RoomStoreContract, IClassFixture<PostgresServer>
{
    private PostgresDatabase? _database;

    internal override async Task<IRoomStore> CreateAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync());
        return new PostgresRoomStore(_database);
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
public sealed class MongoRoomStoreTests : RoomStoreContract
{
    private MongoDatabaseHandle? _handle;

    internal override Task<IRoomStore> CreateAsync()
    {
        _handle = new MongoDatabaseHandle(MongoEnvironment.RequireUri(), MongoEnvironment.UniqueDatabaseName());
        return Task.FromResult<IRoomStore>(new MongoRoomStore(_handle));
    }

    protected override async Task DisposeStoreAsync()
    {
        if (_handle is not null)
        {
            await _handle.Client.DropDatabaseAsync(_handle.Database.DatabaseNamespace.DatabaseName);
        }
    }
}
