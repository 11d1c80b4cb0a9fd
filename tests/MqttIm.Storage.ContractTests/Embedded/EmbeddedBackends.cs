using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sequencing;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.Storage.ContractTests.Embedded;

public sealed class SqliteMessageStoreTests : MessageStoreContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mqttim-store-" + Guid.NewGuid().ToString("N")[..12]);

    protected override Task<IMessageStore> CreateStoreAsync(IMessageStore? reopenOf = null) =>
        Task.FromResult<IMessageStore>(new SqliteMessageStore(Path.Combine(_directory, "test.db"), fullSync: true));

    protected override Task DisposeStoreAsync(IMessageStore store)
    {
        ((SqliteMessageStore)store).Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
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
