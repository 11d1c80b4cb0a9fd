using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Devices.Storage.Mongo;
using MqttIm.ImExtensions.Devices.Storage.Postgres;
using MqttIm.ImExtensions.Devices.Storage.Sqlite;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.Storage.ContractTests.Embedded;
using MqttIm.Testing;

namespace MqttIm.Storage.ContractTests.Devices;

/// <summary>The embedded backend: a temp SQLite file per test.</summary>
internal sealed class SqliteDeviceBackend : IDeviceStoreBackend
{
    private readonly TempSqliteDatabase _files = new();
    private readonly SqliteDatabase _database;

    public SqliteDeviceBackend()
    {
        _database = _files.Open();
        Devices = new SqliteDeviceStore(_database);
        Telemetry = new SqliteTelemetryStore(_database);
        Commands = new SqliteCommandStore(_database);
        Schedules = new SqliteScheduleStore(_database);
    }

    public IDeviceStore Devices { get; }

    public ITelemetryStore Telemetry { get; }

    public ICommandStore Commands { get; }

    public IScheduleStore Schedules { get; }

    public ValueTask DisposeAsync()
    {
        _database.Dispose();
        _files.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The PostgreSQL backend: a fresh database on the class's private server per test.</summary>
internal sealed class PostgresDeviceBackend(PostgresDatabase database) : IDeviceStoreBackend
{
    public IDeviceStore Devices { get; } = new PostgresDeviceStore(database);

    public ITelemetryStore Telemetry { get; } = new PostgresTelemetryStore(database);

    public ICommandStore Commands { get; } = new PostgresCommandStore(database);

    public IScheduleStore Schedules { get; } = new PostgresScheduleStore(database);

    public static async Task<IDeviceStoreBackend> CreateAsync(PostgresServer server) => new PostgresDeviceBackend(new PostgresDatabase(await server.CreateDatabaseAsync()));

    public ValueTask DisposeAsync() => database.DisposeAsync();
}

/// <summary>The MongoDB backend: a unique database on the server named by MONGODB_URI, dropped afterwards.</summary>
internal sealed class MongoDeviceBackend : IDeviceStoreBackend
{
    private readonly MongoDatabaseHandle _handle = new(MongoEnvironment.RequireUri(), MongoEnvironment.UniqueDatabaseName());

    public MongoDeviceBackend()
    {
        Devices = new MongoDeviceStore(_handle);
        Telemetry = new MongoTelemetryStore(_handle);
        Commands = new MongoCommandStore(_handle);
        Schedules = new MongoScheduleStore(_handle);
    }

    public IDeviceStore Devices { get; }

    public ITelemetryStore Telemetry { get; }

    public ICommandStore Commands { get; }

    public IScheduleStore Schedules { get; }

    public async ValueTask DisposeAsync() => await _handle.Client.DropDatabaseAsync(_handle.Database.DatabaseNamespace.DatabaseName);
}

public sealed class SqliteDeviceStoreTests : DeviceStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new SqliteDeviceBackend());
}

public sealed class SqliteTelemetryStoreTests : TelemetryStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new SqliteDeviceBackend());
}

public sealed class SqliteCommandStoreTests : CommandStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new SqliteDeviceBackend());
}

public sealed class SqliteScheduleStoreTests : ScheduleStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new SqliteDeviceBackend());
}

public sealed class PostgresDeviceStoreTests(PostgresServer server) : DeviceStoreContract, IClassFixture<PostgresServer>
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => PostgresDeviceBackend.CreateAsync(server);
}

public sealed class PostgresTelemetryStoreTests(PostgresServer server) : TelemetryStoreContract, IClassFixture<PostgresServer>
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => PostgresDeviceBackend.CreateAsync(server);
}

public sealed class PostgresCommandStoreTests(PostgresServer server) : CommandStoreContract, IClassFixture<PostgresServer>
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => PostgresDeviceBackend.CreateAsync(server);
}

public sealed class PostgresScheduleStoreTests(PostgresServer server) : ScheduleStoreContract, IClassFixture<PostgresServer>
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => PostgresDeviceBackend.CreateAsync(server);
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoDeviceStoreTests : DeviceStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new MongoDeviceBackend());
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoTelemetryStoreTests : TelemetryStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new MongoDeviceBackend());
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoCommandStoreTests : CommandStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new MongoDeviceBackend());
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoScheduleStoreTests : ScheduleStoreContract
{
    protected override Task<IDeviceStoreBackend> CreateBackendAsync() => Task.FromResult<IDeviceStoreBackend>(new MongoDeviceBackend());
}
