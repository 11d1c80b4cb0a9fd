using MqttIm.ImExtensions.Storage;

namespace MqttIm.Storage.ContractTests;

/// <summary>What every <see cref="IConversationWriterStore"/> must do.</summary>
public abstract class ConversationWriterStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    protected IConversationWriterStore Writers { get; private set; } = null!;

    protected abstract Task<IConversationWriterStore> CreateAsync();

    protected abstract Task DisposeStoreAsync();

    public async Task InitializeAsync() => Writers = await CreateAsync();

    public Task DisposeAsync() => DisposeStoreAsync();

    [Fact]
    public async Task Writers_AreRecordedOnce_PerConversation()
    {
        Assert.Empty(await Writers.GetWritersAsync("c2c:alice:bob", _ct));

        await Writers.AddAsync("c2c:alice:bob", "alice", _ct);
        await Writers.AddAsync("c2c:alice:bob", "alice", _ct);
        Assert.Equal(["alice"], await Writers.GetWritersAsync("c2c:alice:bob", _ct));

        await Writers.AddAsync("c2c:alice:bob", "bob", _ct);
        await Writers.AddAsync("c2c:alice:carol", "carol", _ct);
        Assert.Equal(["alice", "bob"], (await Writers.GetWritersAsync("c2c:alice:bob", _ct)).Order());
        Assert.Equal(["carol"], await Writers.GetWritersAsync("c2c:alice:carol", _ct));
    }

    [Fact]
    public async Task ConcurrentAdds_AreAllKept()
    {
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Writers.AddAsync("c2c:x:y", i % 2 == 0 ? "x" : "y", _ct)));

        Assert.Equal(["x", "y"], (await Writers.GetWritersAsync("c2c:x:y", _ct)).Order());
    }
}
