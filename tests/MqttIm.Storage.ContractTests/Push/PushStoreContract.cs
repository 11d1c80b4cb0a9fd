using MqttIm.PushBridge.Jobs;
using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.Storage.ContractTests.Push;

/// <summary>
/// What every backend of the push bridge's stores must do: the token registry (<see cref="IPushTokenStore"/>), the durable job
/// queue (<see cref="IPushJobStore"/>) and the outcome records (<see cref="IPushOutcomeStore"/>). Each backend subclasses it once.
/// </summary>
public abstract class PushStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;
    private PushBackend _backend = null!;

    protected IPushTokenStore Tokens { get; private set; } = null!;

    protected IPushJobStore Jobs { get; private set; } = null!;

    protected IPushOutcomeStore Outcomes { get; private set; } = null!;

    protected abstract PushBackend CreateBackend();

    public async Task InitializeAsync()
    {
        _backend = CreateBackend();
        (Tokens, Jobs, Outcomes) = await _backend.OpenAsync();
    }

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    internal static PushToken Token(string user, string token, string device = "phone", string vendor = PushVendors.Apns, int preference = 0, bool privacy = false) =>
        new(user, device, vendor, "com.example.chat", token, "sandbox", "en-US", privacy, preference, 1_000);

    [Fact]
    public async Task Tokens_OneUserManyTokens_AllReturnedWithEveryField()
    {
        await Tokens.RegisterAsync(Token("alice", "t1", privacy: true), _ct);
        await Tokens.RegisterAsync(Token("alice", "t2", device: "tablet", vendor: PushVendors.Fcm), _ct);
        await Tokens.RegisterAsync(Token("alice", "t3", preference: 1, vendor: PushVendors.Hms), _ct);
        await Tokens.RegisterAsync(Token("bob", "t4"), _ct);

        var alice = await Tokens.GetForUserAsync("alice", _ct);
        Assert.Equal(["t1", "t3", "t2"], alice.Select(t => t.Token)); // by device, then preference
        Assert.Equal(Token("alice", "t1", privacy: true), alice[0]);
        Assert.Single(await Tokens.GetForUserAsync("bob", _ct));
        Assert.Empty(await Tokens.GetForUserAsync("carol", _ct));
    }

    [Fact]
    public async Task Tokens_RegisteredByAnotherUser_Move()
    {
        await Tokens.RegisterAsync(Token("alice", "shared"), _ct);
        await Tokens.RegisterAsync(Token("bob", "shared") with { Locale = "zh-CN" }, _ct);

        Assert.Empty(await Tokens.GetForUserAsync("alice", _ct));
        var moved = Assert.Single(await Tokens.GetForUserAsync("bob", _ct));
        Assert.Equal("zh-CN", moved.Locale);
        // The same token string at another vendor is another token.
        await Tokens.RegisterAsync(Token("alice", "shared", vendor: PushVendors.Fcm), _ct);
        Assert.Single(await Tokens.GetForUserAsync("alice", _ct));
        Assert.Single(await Tokens.GetForUserAsync("bob", _ct));
    }

    [Fact]
    public async Task Tokens_Unregister_OnlyByTheOwner_AndPerDeviceOnLogout()
    {
        await Tokens.RegisterAsync(Token("alice", "t1"), _ct);
        await Tokens.RegisterAsync(Token("alice", "t2", vendor: PushVendors.Fcm), _ct);
        await Tokens.RegisterAsync(Token("alice", "t3", device: "tablet"), _ct);

        Assert.False(await Tokens.UnregisterAsync("mallory", PushVendors.Apns, "t1", _ct));
        Assert.True(await Tokens.UnregisterAsync("alice", PushVendors.Apns, "t1", _ct));
        Assert.False(await Tokens.UnregisterAsync("alice", PushVendors.Apns, "t1", _ct));
        Assert.Equal(1, await Tokens.UnregisterDeviceAsync("alice", "phone", _ct));
        Assert.Equal(["t3"], (await Tokens.GetForUserAsync("alice", _ct)).Select(t => t.Token));
    }

    [Fact]
    public async Task Tokens_Remove_DeletesADeadTokenWhoeverOwnsIt()
    {
        await Tokens.RegisterAsync(Token("alice", "dead"), _ct);

        Assert.True(await Tokens.RemoveAsync(PushVendors.Apns, "dead", _ct));
        Assert.False(await Tokens.RemoveAsync(PushVendors.Apns, "dead", _ct));
        Assert.Empty(await Tokens.GetForUserAsync("alice", _ct));
    }

    [Fact]
    public async Task Preferences_AreStoredPerUser_AndReplaced()
    {
        Assert.Null(await Tokens.GetPreferencesAsync("alice", _ct));
        await Tokens.SetPreferencesAsync(new PushPreferences("alice", 22 * 60, 7 * 60, "Asia/Shanghai"), _ct);
        await Tokens.SetPreferencesAsync(new PushPreferences("alice", 23 * 60, 6 * 60, "Europe/Berlin"), _ct);

        Assert.Equal(new PushPreferences("alice", 23 * 60, 6 * 60, "Europe/Berlin"), await Tokens.GetPreferencesAsync("alice", _ct));
        Assert.Null(await Tokens.GetPreferencesAsync("bob", _ct));
    }

    internal static PushJob Job(string id, string user, long due, int count = 1) => new()
    {
        Id = id, UserId = user, Priority = 1, CreatedMs = 10, DueMs = due, CollapseId = "c2c:alice:" + user, SenderId = "alice",
        ConversationId = "c2c:alice:" + user, Title = "", Text = "hi", Senders = ["alice"], MessageIds = Enumerable.Range(1, count).Select(i => $"m{i}").ToList(),
        MessageCount = count,
    };

    [Fact]
    public async Task Jobs_SurviveReopening_InDueOrder_WithEveryField()
    {
        await Jobs.SaveAsync(Job("j2", "bob", due: 200), _ct);
        await Jobs.SaveAsync(Job("j1", "carol", due: 100), _ct);
        await Jobs.SaveAsync(Job("j3", "bob", due: 300), _ct);

        var (_, reopened, _) = await _backend.OpenAsync();
        var all = await reopened.GetAllAsync(_ct);
        Assert.Equal(["j1", "j2", "j3"], all.Select(j => j.Id));
        Assert.Equal(Job("j1", "carol", 100).MessageIds, all[0].MessageIds);
        Assert.Equivalent(Job("j1", "carol", 100), all[0], strict: true);
        Assert.Equal(["j2", "j3"], (await reopened.GetForUserAsync("bob", _ct)).Select(j => j.Id));
    }

    [Fact]
    public async Task Jobs_SaveReplacesByIdForMerges_AndDeleteHappensOnce()
    {
        await Jobs.SaveAsync(Job("j1", "bob", due: 100), _ct);
        await Jobs.SaveAsync(Job("j1", "bob", due: 150, count: 3), _ct);

        var merged = Assert.Single(await Jobs.GetAllAsync(_ct));
        Assert.Equal((150L, 3), (merged.DueMs, merged.MessageCount));
        Assert.True(await Jobs.DeleteAsync("j1", _ct));
        Assert.False(await Jobs.DeleteAsync("j1", _ct));
        Assert.Empty(await Jobs.GetAllAsync(_ct));
    }

    [Fact]
    public async Task Jobs_ApplyABatchInOrder_SavesAndDeletes_WithAResultPerWrite()
    {
        await Jobs.SaveAsync(Job("j0", "bob", due: 50), _ct);

        var results = await Jobs.ApplyAsync(
        [
            PushJobWrite.Saving(Job("j1", "bob", due: 100)),
            PushJobWrite.Saving(Job("j1", "bob", due: 120, count: 2)), // a merge in the same batch replaces it
            PushJobWrite.Deleting("j0"),
            PushJobWrite.Deleting("j0"), // already gone
            PushJobWrite.Saving(Job("j2", "carol", due: 90)),
            PushJobWrite.Deleting("j2"), // saved and sent within one batch
            PushJobWrite.Deleting("none"),
        ], _ct);

        Assert.Equal([true, true, true, false, true, true, false], results);
        var left = Assert.Single(await Jobs.GetAllAsync(_ct));
        Assert.Equal(("j1", 120L, 2), (left.Id, left.DueMs, left.MessageCount));
        Assert.Empty(await Jobs.ApplyAsync([], _ct));
    }

    [Fact]
    public async Task Outcomes_AddMany_AreStoredInOrder_AndQueryableLikeSingleOnes()
    {
        await Outcomes.AddManyAsync(
        [
            Outcome("j1", "bob", PushResults.Failed, 100, "m1"),
            Outcome("j1", "bob", PushResults.Delivered, 100, "m1"),
            Outcome("j2", "carol", PushResults.Delivered, 100, "m2", "m3"),
        ], _ct);
        await Outcomes.AddManyAsync([], _ct);

        Assert.Equal([PushResults.Delivered, PushResults.Failed], (await Outcomes.GetForUserAsync("bob", 10, _ct)).Select(o => o.Result));
        Assert.Equal("carol", Assert.Single(await Outcomes.GetForMessageAsync("m3", _ct)).UserId);
        Assert.Equal([PushResults.Failed, PushResults.Delivered], (await Outcomes.GetForMessageAsync("m1", _ct)).Select(o => o.Result));
    }

    private static PushOutcome Outcome(string job, string user, string result, long at, params string[] messages) =>
        new(job, user, messages, PushVendors.Apns, "com.example.chat", "t1", result, "detail " + result, 1, at);

    [Fact]
    public async Task Outcomes_QueryablePerUser_NewestFirst_AndPerMessage()
    {
        await Outcomes.AddAsync(Outcome("j1", "bob", PushResults.Failed, 100, "m1", "m2"), _ct);
        await Outcomes.AddAsync(Outcome("j1", "bob", PushResults.Delivered, 200, "m1", "m2"), _ct);
        await Outcomes.AddAsync(Outcome("j2", "carol", PushResults.CancelledOnline, 300, "m3"), _ct);
        await Outcomes.AddAsync(Outcome("j3", "bob", PushResults.NoToken, 400), _ct);

        var bob = await Outcomes.GetForUserAsync("bob", 10, _ct);
        Assert.Equal([PushResults.NoToken, PushResults.Delivered, PushResults.Failed], bob.Select(o => o.Result));
        Assert.Equal(Outcome("j1", "bob", PushResults.Delivered, 200, "m1", "m2").MessageIds, bob[1].MessageIds);
        Assert.Equivalent(Outcome("j1", "bob", PushResults.Delivered, 200, "m1", "m2"), bob[1], strict: true);
        Assert.Single(await Outcomes.GetForUserAsync("bob", 1, _ct));
        Assert.Equal([PushResults.Failed, PushResults.Delivered], (await Outcomes.GetForMessageAsync("m2", _ct)).Select(o => o.Result));
        Assert.Equal("carol", Assert.Single(await Outcomes.GetForMessageAsync("m3", _ct)).UserId);
        Assert.Empty(await Outcomes.GetForMessageAsync("m9", _ct));
    }
}

public sealed class SqlitePushStoreTests : PushStoreContract
{
    protected override PushBackend CreateBackend() => new SqlitePushBackend();
}

public sealed class PostgresPushStoreTests(MqttIm.Testing.PostgresServer server) : PushStoreContract, IClassFixture<MqttIm.Testing.PostgresServer>
{
    protected override PushBackend CreateBackend() => new PostgresPushBackend(server);
}

[Trait("Category", MqttIm.Testing.MongoEnvironment.Category)]
public sealed class MongoPushStoreTests : PushStoreContract
{
    protected override PushBackend CreateBackend() => new MongoPushBackend();
}
