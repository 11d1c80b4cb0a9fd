using MqttIm.ImExtensions.Moderation;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sequencing;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Embedded;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.Storage.ContractTests.Embedded;

/// <summary>A fresh SQLite database file per test, deleted afterwards.</summary>
internal sealed class TempSqliteDatabase : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mqttim-store-" + Guid.NewGuid().ToString("N")[..12]);

    public string FilePath => Path.Combine(_directory, "test.db");

    public SqliteDatabase Open() => new(FilePath, fullSync: true);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

// A second store over the same database (reopenOf) shares its message log, as every store of one process does: the
// "two nodes" of the contract are two writers of one log. Restarts are MessageLogRecoveryTests'.
public sealed class EmbeddedMessageStoreTests : MessageStoreContract
{
    private readonly TempSqliteDatabase _files = new();
    private readonly List<SqliteDatabase> _open = [];
    private readonly List<EmbeddedMessageStore> _stores = [];

    protected override Task<IMessageStore> CreateStoreAsync(IMessageStore? reopenOf = null)
    {
        var database = _files.Open();
        _open.Add(database);
        var store = new EmbeddedMessageStore(database);
        _stores.Add(store);
        return Task.FromResult<IMessageStore>(store);
    }

    protected override Task DisposeStoreAsync(IMessageStore store)
    {
        if (ReferenceEquals(store, Store))
        {
            _stores.ForEach(s => s.Dispose());
            _open.ForEach(d => d.Dispose());
            _files.Dispose();
        }

        return Task.CompletedTask;
    }
}

public sealed class SqliteConversationStoreTests : ConversationStoreContract
{
    private readonly TempSqliteDatabase _files = new();
    private readonly List<SqliteDatabase> _open = [];
    private readonly List<EmbeddedMessageStore> _stores = [];

    protected override Task<(IMessageStore Messages, IConversationStore Conversations)> CreateAsync()
    {
        var database = _files.Open();
        _open.Add(database);
        var messages = new EmbeddedMessageStore(database);
        _stores.Add(messages);
        return Task.FromResult<(IMessageStore, IConversationStore)>((messages, new SqliteConversationStore(database, messages)));
    }

    // A second handle on the same file: both apply the one message log's pending heads, so neither may move unread
    // totals from a head the other already moved.
    protected override Task<(IMessageStore Messages, IConversationStore Conversations)> OpenSecondNodeAsync() => CreateAsync();

    protected override Task<(IMessageStore Messages, IConversationStore Conversations)> ReopenWithoutUnreadTotalsAsync()
    {
        _stores.ForEach(s => s.Dispose());
        _stores.Clear();
        _open.ForEach(d => d.Dispose());
        _open.Clear();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_files.FilePath};Pooling=False"))
        {
            connection.Open();
            using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE user_unread";
            drop.ExecuteNonQuery();
        }

        return CreateAsync();
    }

    protected override Task DisposeStoresAsync()
    {
        _stores.ForEach(s => s.Dispose());
        _open.ForEach(d => d.Dispose());
        _files.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class SqliteGroupStoreTests : GroupStoreContract
{
    private readonly TempSqliteDatabase _files = new();
    private SqliteDatabase? _database;

    protected override Task<IGroupStore> CreateAsync()
    {
        _database = _files.Open();
        return Task.FromResult<IGroupStore>(new SqliteGroupStore(_database));
    }

    protected override Task DisposeStoreAsync()
    {
        _database?.Dispose();
        _files.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class InMemorySeqAllocatorTests : SeqAllocatorContract
{
    protected override ISeqAllocator CreateAllocator(Func<string, long> storedMaxSeq) =>
        new InMemorySeqAllocator((id, _) => Task.FromResult(storedMaxSeq(id)));
}

public sealed class InProcessOnlineRouterTests : OnlineRouterContract
{
    internal override IOnlineRouter CreateRouter() => new InProcessOnlineRouter();
}

/// <summary>The per-user budget of one process: every connection of the process shares the one instance.</summary>
public sealed class LocalUserPublishBudgetTests : UserPublishBudgetContract
{
    internal override IReadOnlyList<IUserPublishBudget> CreateShared(ModerationOptions options, int count)
    {
        var budget = new LocalUserPublishBudget(Wrap(options), Time);
        return Enumerable.Repeat<IUserPublishBudget>(budget, count).ToList();
    }
}
