using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.Testing;

namespace MqttIm.Storage.ContractTests.Mongo;

/// <summary>
/// A fresh database per test on the MongoDB server named by <c>MONGODB_URI</c> (a replica set: appends are transactions),
/// dropped afterwards. These classes run only when it is set (scripts/test.sh filters the category out otherwise).
/// </summary>
internal sealed class MongoDatabases : IAsyncDisposable
{
    private readonly List<MongoDatabaseHandle> _open = [];
    private readonly string _name = MongoEnvironment.UniqueDatabaseName();

    /// <summary>A handle on this test's database; each call is another client, like another node.</summary>
    public MongoDatabaseHandle Open()
    {
        var handle = new MongoDatabaseHandle(MongoEnvironment.RequireUri(), _name);
        _open.Add(handle);
        return handle;
    }

    public async ValueTask DisposeAsync()
    {
        if (_open.Count > 0)
        {
            await _open[0].Client.DropDatabaseAsync(_name);
        }

        foreach (var handle in _open)
        {
            handle.Client.Dispose();
        }

        _open.Clear();
    }
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoMessageStoreTests : MessageStoreContract
{
    private readonly MongoDatabases _databases = new();

    protected override Task<IMessageStore> CreateStoreAsync(IMessageStore? reopenOf = null) =>
        Task.FromResult<IMessageStore>(new MongoMessageStore(_databases.Open()));

    protected override async Task DisposeStoreAsync(IMessageStore store)
    {
        if (ReferenceEquals(store, Store))
        {
            await _databases.DisposeAsync();
        }
    }
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoConversationStoreTests : ConversationStoreContract
{
    private readonly MongoDatabases _databases = new();

    protected override Task<(IMessageStore Messages, IConversationStore Conversations)> CreateAsync()
    {
        var handle = _databases.Open();
        return Task.FromResult<(IMessageStore, IConversationStore)>((new MongoMessageStore(handle), new MongoConversationStore(handle)));
    }

    protected override async Task<(IMessageStore Messages, IConversationStore Conversations)> ReopenWithoutUnreadTotalsAsync()
    {
        var handle = _databases.Open();
        await handle.Database.DropCollectionAsync(MongoUnreadTotals.Collection);
        return (new MongoMessageStore(handle), new MongoConversationStore(handle));
    }

    protected override Task<(IMessageStore Messages, IConversationStore Conversations)> OpenSecondNodeAsync() => CreateAsync();

    protected override Task DisposeStoresAsync() => _databases.DisposeAsync().AsTask();
}

[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoGroupStoreTests : GroupStoreContract
{
    private readonly MongoDatabases _databases = new();

    protected override Task<IGroupStore> CreateAsync() => Task.FromResult<IGroupStore>(new MongoGroupStore(_databases.Open()));

    protected override Task DisposeStoreAsync() => _databases.DisposeAsync().AsTask();
}
