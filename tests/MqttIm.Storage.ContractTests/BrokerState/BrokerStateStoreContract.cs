using MqttIm.ImExtensions.BrokerState;
using MqttIm.ImExtensions.BrokerState.Store;
using Change = MqttIm.ImExtensions.BrokerState.BrokerStateChange;

namespace MqttIm.Storage.ContractTests.BrokerState;

/// <summary>What every <see cref="IBrokerStateStore"/> (SQLite, PostgreSQL, MongoDB) must do: retained messages and persistent sessions.</summary>
public abstract class BrokerStateStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    internal IBrokerStateStore Store { get; private set; } = null!;

    internal abstract Task<IBrokerStateStore> CreateAsync();

    protected abstract Task DisposeStoreAsync();

    public async Task InitializeAsync() => Store = await CreateAsync();

    public Task DisposeAsync() => DisposeStoreAsync();

    private static StoredMqttMessage Message(string topic, string payload, int qos = 1, byte[]? properties = null, long at = 1000) =>
        new(topic, System.Text.Encoding.UTF8.GetBytes(payload), qos, properties, at);

    [Fact]
    public async Task Empty_LoadsNothing()
    {
        var snapshot = await Store.LoadAsync(_ct);

        Assert.Empty(snapshot.Retained);
        Assert.Empty(snapshot.Sessions);
        Assert.Empty(snapshot.Subscriptions);
        Assert.Empty(snapshot.Queued);
    }

    [Fact]
    public async Task Retained_SetReplaceDeleteClear_InBatchOrder()
    {
        var properties = "{\"ContentType\":\"text/plain\"}"u8.ToArray();
        await Store.ApplyAsync(
        [
            new Change.RetainedSet(Message("a/1", "first")),
            new Change.RetainedSet(Message("a/2", "two", qos: 0, properties: properties, at: 2000)),
            new Change.RetainedSet(Message("a/1", "replaced", qos: 2)),
            new Change.RetainedSet(Message("a/3", "three")),
            new Change.RetainedDeleted("a/3"),
            new Change.RetainedDeleted("never/there"),
        ], _ct);

        var retained = (await Store.LoadAsync(_ct)).Retained.OrderBy(m => m.Topic, StringComparer.Ordinal).ToList();
        Assert.Equal([Message("a/1", "replaced", qos: 2), Message("a/2", "two", qos: 0, properties: properties, at: 2000)], retained);

        await Store.ApplyAsync([new Change.RetainedCleared(), new Change.RetainedSet(Message("b", "after clear"))], _ct);
        Assert.Equal([Message("b", "after clear")], (await Store.LoadAsync(_ct)).Retained);
    }

    [Fact]
    public async Task Sessions_SubscriptionsAndQueue_RoundTrip_AndDeleteTakesEverything()
    {
        await Store.ApplyAsync(
        [
            new Change.SessionSaved(new StoredSession("dev-1", 3600, 0)),
            new Change.SessionSaved(new StoredSession("dev-2", uint.MaxValue, 0)),
            new Change.SubscriptionSaved(new StoredSubscription("dev-1", "sensors/#", 1)),
            new Change.SubscriptionSaved(new StoredSubscription("dev-1", "cmd/+", 2 | 0x04)),
            new Change.SubscriptionSaved(new StoredSubscription("dev-1", "sensors/#", 2)), // options replaced
            new Change.SubscriptionSaved(new StoredSubscription("dev-2", "x", 1)),
            new Change.MessageQueued(new QueuedMqttMessage("dev-1", 7, Message("sensors/t", "21"))),
            new Change.MessageQueued(new QueuedMqttMessage("dev-1", 3, Message("sensors/t", "20", properties: [1, 2, 3]))),
            new Change.MessageQueued(new QueuedMqttMessage("dev-2", 4, Message("x", "for two", qos: 2))),
            new Change.SessionSaved(new StoredSession("dev-1", 60, 123456)), // went away
        ], _ct);

        var snapshot = await Store.LoadAsync(_ct);
        Assert.Equal([new StoredSession("dev-1", 60, 123456), new StoredSession("dev-2", uint.MaxValue, 0)],
            snapshot.Sessions.OrderBy(s => s.ClientId, StringComparer.Ordinal));
        Assert.Equal([new StoredSubscription("dev-1", "cmd/+", 6), new StoredSubscription("dev-1", "sensors/#", 2), new StoredSubscription("dev-2", "x", 1)],
            snapshot.Subscriptions.OrderBy(s => s.ClientId, StringComparer.Ordinal).ThenBy(s => s.Filter, StringComparer.Ordinal));
        // Queue order is by queue id within a client.
        Assert.Equal([("dev-1", 3L, "20"), ("dev-1", 7L, "21"), ("dev-2", 4L, "for two")],
            snapshot.Queued.OrderBy(q => q.ClientId, StringComparer.Ordinal).ThenBy(q => q.QueueId)
                .Select(q => (q.ClientId, q.QueueId, System.Text.Encoding.UTF8.GetString(q.Message.Payload))));
        Assert.Equal(Message("sensors/t", "20", properties: [1, 2, 3]), snapshot.Queued.Single(q => q.QueueId == 3).Message);

        await Store.ApplyAsync(
        [
            new Change.QueuedMessageDeleted("dev-1", 3),
            new Change.SubscriptionDeleted("dev-1", "cmd/+"),
            new Change.SessionDeleted("dev-2"),
        ], _ct);

        snapshot = await Store.LoadAsync(_ct);
        Assert.Equal("dev-1", Assert.Single(snapshot.Sessions).ClientId);
        Assert.Equal(new StoredSubscription("dev-1", "sensors/#", 2), Assert.Single(snapshot.Subscriptions));
        Assert.Equal(7, Assert.Single(snapshot.Queued).QueueId);
    }

    [Fact]
    public async Task ReappliedBatch_IsIdempotent()
    {
        IReadOnlyList<BrokerStateChange> batch =
        [
            new Change.SessionSaved(new StoredSession("dev-3", 10, 0)),
            new Change.SubscriptionSaved(new StoredSubscription("dev-3", "a", 1)),
            new Change.MessageQueued(new QueuedMqttMessage("dev-3", 1, Message("a", "once"))),
            new Change.RetainedSet(Message("r", "v")),
        ];

        await Store.ApplyAsync(batch, _ct);
        await Store.ApplyAsync(batch, _ct); // a retried write after a failure the store did apply

        var snapshot = await Store.LoadAsync(_ct);
        Assert.Single(snapshot.Sessions);
        Assert.Single(snapshot.Subscriptions);
        Assert.Single(snapshot.Queued);
        Assert.Single(snapshot.Retained);
    }
}
