using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.Storage.ContractTests.Embedded;
using MqttIm.Testing;

namespace MqttIm.Storage.ContractTests.Security;

public sealed class SqliteClientIdOwnerStoreTests : ClientIdOwnerStoreContract
{
    private readonly TempSqliteDatabase _files = new();
    private readonly List<SqliteDatabase> _open = [];

    protected override Task<IClientIdOwnerStore> CreateAsync() => ReopenAsync();

    protected override Task<IClientIdOwnerStore> ReopenAsync()
    {
        var database = _files.Open();
        _open.Add(database);
        return Task.FromResult<IClientIdOwnerStore>(new SqliteClientIdOwnerStore(database));
    }

    protected override Task DisposeStoreAsync()
    {
        _open.ForEach(d => d.Dispose());
        _files.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresClientIdOwnerStoreTests(PostgresServer server) : ClientIdOwnerStoreContract, IClassFixture<PostgresServer>
{
    private readonly List<PostgresDatabase> _open = [];
    private string? _connectionString;

    protected override async Task<IClientIdOwnerStore> CreateAsync()
    {
        _connectionString = await server.CreateDatabaseAsync();
        return await ReopenAsync();
    }

    protected override Task<IClientIdOwnerStore> ReopenAsync()
    {
        var database = new PostgresDatabase(_connectionString!);
        _open.Add(database);
        return Task.FromResult<IClientIdOwnerStore>(new PostgresClientIdOwnerStore(database));
    }

    protected override async Task DisposeStoreAsync()
    {
        foreach (var database in _open)
        {
            await database.DisposeAsync();
        }
    }
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoClientIdOwnerStoreTests : ClientIdOwnerStoreContract
{
    private readonly string _database = MongoEnvironment.UniqueDatabaseName();
    private MongoDatabaseHandle? _handle;

    protected override Task<IClientIdOwnerStore> CreateAsync() => ReopenAsync();

    protected override Task<IClientIdOwnerStore> ReopenAsync()
    {
        _handle = new MongoDatabaseHandle(MongoEnvironment.RequireUri(), _database);
        return Task.FromResult<IClientIdOwnerStore>(new MongoClientIdOwnerStore(_handle));
    }

    protected override async Task DisposeStoreAsync()
    {
        if (_handle is not null)
        {
            await _handle.Client.DropDatabaseAsync(_database);
        }
    }
}

public sealed class SqliteConversationWriterStoreTests : ConversationWriterStoreContract
{
    private readonly TempSqliteDatabase _files = new();
    private SqliteDatabase? _database;

    protected override Task<IConversationWriterStore> CreateAsync()
    {
        _database = _files.Open();
        return Task.FromResult<IConversationWriterStore>(new SqliteConversationWriterStore(_database));
    }

    protected override Task DisposeStoreAsync()
    {
        _database?.Dispose();
        _files.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresConversationWriterStoreTests(PostgresServer server) : ConversationWriterStoreContract, IClassFixture<PostgresServer>
{
    private PostgresDatabase? _database;

    protected override async Task<IConversationWriterStore> CreateAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync());
        return new PostgresConversationWriterStore(_database);
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
public sealed class MongoConversationWriterStoreTests : ConversationWriterStoreContract
{
    private readonly string _database = MongoEnvironment.UniqueDatabaseName();
    private MongoDatabaseHandle? _handle;

    protected override Task<IConversationWriterStore> CreateAsync()
    {
        _handle = new MongoDatabaseHandle(MongoEnvironment.RequireUri(), _database);
        return Task.FromResult<IConversationWriterStore>(new MongoConversationWriterStore(_handle));
    }

    protected override async Task DisposeStoreAsync()
    {
        if (_handle is not null)
        {
            await _handle.Client.DropDatabaseAsync(_database);
        }
    }
}
