using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.Testing;

namespace MqttIm.Storage.ContractTests.Postgres;

/// <summary>Fresh databases on the test class's private PostgreSQL server; every handle opened is disposed with the test.</summary>
internal sealed class PostgresDatabases(PostgresServer server) : IAsyncDisposable
{
    private readonly List<PostgresDatabase> _open = [];

    public string ConnectionString { get; private set; } = "";

    /// <summary>A handle on a new empty database, or (<paramref name="same"/>) another handle on the current one: a second node.</summary>
    public async Task<PostgresDatabase> OpenAsync(bool same = false)
    {
        if (!same || ConnectionString.Length == 0)
        {
            ConnectionString = await server.CreateDatabaseAsync();
        }

        var database = new PostgresDatabase(ConnectionString);
        _open.Add(database);
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _open)
        {
            await database.DisposeAsync();
        }

        _open.Clear();
    }
}

public sealed class PostgresMessageStoreTests(PostgresServer server) : MessageStoreContract, IClassFixture<PostgresServer>
{
    private readonly PostgresDatabases _databases = new(server);

    protected override async Task<IMessageStore> CreateStoreAsync(IMessageStore? reopenOf = null) =>
        new PostgresMessageStore(await _databases.OpenAsync(same: reopenOf is not null));

    protected override async Task DisposeStoreAsync(IMessageStore store)
    {
        if (ReferenceEquals(store, Store))
        {
            await _databases.DisposeAsync();
        }
    }
}

public sealed class PostgresConversationStoreTests(PostgresServer server) : ConversationStoreContract, IClassFixture<PostgresServer>
{
    private readonly PostgresDatabases _databases = new(server);

    protected override async Task<(IMessageStore Messages, IConversationStore Conversations)> CreateAsync()
    {
        var database = await _databases.OpenAsync();
        return (new PostgresMessageStore(database), new PostgresConversationStore(database));
    }

    protected override async Task<(IMessageStore Messages, IConversationStore Conversations)> ReopenWithoutUnreadTotalsAsync()
    {
        var database = await _databases.OpenAsync(same: true);
        await using (var drop = database.DataSource.CreateCommand("DROP TABLE im_user_unread"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        return (new PostgresMessageStore(database), new PostgresConversationStore(database));
    }

    protected override async Task<(IMessageStore Messages, IConversationStore Conversations)> OpenSecondNodeAsync()
    {
        var database = await _databases.OpenAsync(same: true);
        return (new PostgresMessageStore(database), new PostgresConversationStore(database));
    }

    protected override Task DisposeStoresAsync() => _databases.DisposeAsync().AsTask();
}

public sealed class PostgresGroupStoreTests(PostgresServer server) : GroupStoreContract, IClassFixture<PostgresServer>
{
    private readonly PostgresDatabases _databases = new(server);

    protected override async Task<IGroupStore> CreateAsync() => new PostgresGroupStore(await _databases.OpenAsync());

    protected override Task DisposeStoreAsync() => _databases.DisposeAsync().AsTask();
}
