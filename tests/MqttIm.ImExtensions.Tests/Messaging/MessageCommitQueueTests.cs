using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Embedded;
using MqttIm.Testing;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Tests.Messaging;

/// <summary>
/// The group commit in process: the real registrations on an embedded SQLite file, with the message store wrapped so a
/// test can hold a commit (to line sends up into one batch) or make the store refuse it.
/// </summary>
public sealed class MessageCommitQueueTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly string Conversation = ConversationIds.C2c("alice", "bob");

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-commit-" + Guid.NewGuid().ToString("N"));
    private ServiceProvider _services = null!;
    private ControllableMessageStore _store = null!;
    private MessageCommitQueue _queue = null!;
    private IHostedService[] _loops = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataDirectory);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:DataDirectory"] = _dataDirectory })
            .Build();
        var services = new ServiceCollection().AddLogging();
        services.AddMqttImExtensions(configuration);
        // Registered last, so it is the IMessageStore everyone resolves (the commit queue and the seq allocator's seeding).
        services.AddSingleton(sp => new ControllableMessageStore(ActivatorUtilities.CreateInstance<EmbeddedMessageStore>(sp)));
        services.AddSingleton<IMessageStore>(sp => sp.GetRequiredService<ControllableMessageStore>());
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<ControllableMessageStore>();
        _queue = _services.GetRequiredService<MessageCommitQueue>();
        _loops = [_services.GetRequiredService<DeliveryLoop>(), _queue];
        foreach (var loop in _loops)
        {
            await loop.StartAsync(CancellationToken.None);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var loop in _loops.Reverse())
        {
            await loop.StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task ResendInTheSameBatch_IsStoredOnce_AndBothSendersGetTheOriginal()
    {
        var (first, held) = await HoldNextCommitAsync(Draft("m0", "before"));

        // Queued while the first commit is held, so the loop takes them as one batch when it is released.
        var original = _queue.SubmitAsync(new PendingSend(Draft("m1", "hello"), "alice-1"), CancellationToken.None);
        var resend = _queue.SubmitAsync(new PendingSend(Draft("m1", "hello"), "alice-1"), CancellationToken.None);
        var other = _queue.SubmitAsync(new PendingSend(Draft("m2", "again"), "alice-1"), CancellationToken.None);
        held.SetResult();

        Assert.Equal(1, (await first.WaitAsync(Deadline)).Message.Seq);
        var originalOutcome = await original.WaitAsync(Deadline);
        var resendOutcome = await resend.WaitAsync(Deadline);
        var otherOutcome = await other.WaitAsync(Deadline);

        Assert.False(originalOutcome.Duplicate);
        Assert.True(resendOutcome.Duplicate);
        Assert.Equal(originalOutcome.Message.Seq, resendOutcome.Message.Seq);
        Assert.Equal(originalOutcome.Message.ServerMsgId, resendOutcome.Message.ServerMsgId);
        Assert.Equal([2L, 3L], [originalOutcome.Message.Seq, otherOutcome.Message.Seq]);
        Assert.Equal(2, _store.AppendedBatchSizes[^1]); // the batch held m1 and m2; the resend never reached the store
        var stored = await _store.ReadAfterAsync(Conversation, 0, 10, CancellationToken.None);
        Assert.Equal(["m0", "m1", "m2"], stored.Select(m => m.ClientMsgId));
    }

    [Fact]
    public async Task ResendOfAStoredMessage_InALaterBatch_ReturnsTheStoredOriginal()
    {
        var original = await Submit(Draft("m1", "hello"));
        var resend = await Submit(Draft("m1", "hello"));

        Assert.False(original.Duplicate);
        Assert.True(resend.Duplicate);
        Assert.Equal(original.Message.Seq, resend.Message.Seq);
        Assert.Equal(original.Message.ServerMsgId, resend.Message.ServerMsgId);
        Assert.Single(await _store.ReadAfterAsync(Conversation, 0, 10, CancellationToken.None));
    }

    [Fact]
    public async Task CommitTheStoreRefuses_FailsEverySenderOfTheBatch_AndStoresNoneOfIt()
    {
        var (first, held) = await HoldNextCommitAsync(Draft("m0", "before"));
        var a = _queue.SubmitAsync(new PendingSend(Draft("m1", "one"), "alice-1"), CancellationToken.None);
        var aResend = _queue.SubmitAsync(new PendingSend(Draft("m1", "one"), "alice-1"), CancellationToken.None);
        var b = _queue.SubmitAsync(new PendingSend(Draft("m2", "two"), "alice-1"), CancellationToken.None);
        _store.RefuseAppends(int.MaxValue); // every retry of the next batch fails too
        held.SetResult();

        Assert.Equal(1, (await first.WaitAsync(Deadline)).Message.Seq); // the held commit was already past the refusal
        foreach (var send in new[] { a, aResend, b })
        {
            var failure = await Assert.ThrowsAsync<StoreUnavailableException>(() => send.WaitAsync(Deadline));
            Assert.IsType<IOException>(failure.InnerException);
        }

        Assert.True(_store.RefusedAppends >= 2, "the commit is retried before it is given up");
        var stored = await _store.ReadAfterAsync(Conversation, 0, 10, CancellationToken.None);
        Assert.Equal(["m0"], stored.Select(m => m.ClientMsgId));
    }

    [Fact]
    public async Task AfterAFailedCommit_TheNextSeqFollowsWhatTheStoreHolds()
    {
        Assert.Equal(1, (await Submit(Draft("m1", "stored"))).Message.Seq);

        _store.RefuseAppends(int.MaxValue);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => Submit(Draft("m2", "lost")));

        // The failed batch had taken seq 2; the allocator is resynced from the store, so the next message gets 2, not 3.
        _store.RefuseAppends(0);
        var next = await Submit(Draft("m3", "stored again"));
        Assert.Equal(2, next.Message.Seq);
        var stored = await _store.ReadAfterAsync(Conversation, 0, 10, CancellationToken.None);
        Assert.Equal([1L, 2L], stored.Select(m => m.Seq));
        Assert.Equal(["m1", "m3"], stored.Select(m => m.ClientMsgId));
    }

    [Fact]
    public async Task ResendAfterAFailedCommit_IsStoredAsNew()
    {
        _store.RefuseAppends(int.MaxValue);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => Submit(Draft("m1", "hello")));
        _store.RefuseAppends(0);

        // Nothing of the failed send was acknowledged or stored, so its resend is the first copy, not a duplicate.
        var resend = await Submit(Draft("m1", "hello"));
        Assert.False(resend.Duplicate);
        Assert.Equal(1, resend.Message.Seq);
    }

    private Task<SendOutcome> Submit(ChatMessage draft) =>
        _queue.SubmitAsync(new PendingSend(draft, "alice-1"), CancellationToken.None).WaitAsync(Deadline);

    /// <summary>Submits a send and returns once its commit is inside the store, held there until the returned source is set.</summary>
    private async Task<(Task<SendOutcome> Outcome, TaskCompletionSource Release)> HoldNextCommitAsync(ChatMessage draft)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = _store.HoldNextAppend(release.Task);
        var outcome = _queue.SubmitAsync(new PendingSend(draft, "alice-1"), CancellationToken.None);
        await entered.WaitAsync(Deadline);
        return (outcome, release);
    }

    private static ChatMessage Draft(string clientMsgId, string text) => new()
    {
        ConversationId = Conversation,
        SenderId = "alice",
        RecipientId = "bob",
        ClientMsgId = clientMsgId,
        Text = text,
    };

    /// <summary>The real embedded store, with switches to hold the next append or to refuse appends (a full disk, a lost database).</summary>
    private sealed class ControllableMessageStore(IMessageStore inner) : PassThroughMessageStore(inner)
    {
        private readonly object _gate = new();
        private Task? _holdNext;
        private TaskCompletionSource? _heldEntered;
        private int _refuse;
        private int _refused;

        public List<int> AppendedBatchSizes { get; } = [];

        public int RefusedAppends => Volatile.Read(ref _refused);

        public Task HoldNextAppend(Task release)
        {
            lock (_gate)
            {
                _holdNext = release;
                _heldEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return _heldEntered.Task;
            }
        }

        public void RefuseAppends(int count) => Volatile.Write(ref _refuse, count);

        public override async Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
        {
            Task? hold;
            lock (_gate)
            {
                hold = _holdNext;
                _holdNext = null;
                _heldEntered?.TrySetResult();
                _heldEntered = null;
            }

            if (hold is not null)
            {
                // A held append was admitted before any refusal the test switches on while it waits.
                await hold.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (Volatile.Read(ref _refuse) > 0)
            {
                Interlocked.Decrement(ref _refuse);
                Interlocked.Increment(ref _refused);
                throw new IOException("disk full");
            }

            var result = await Inner.AppendAsync(batch, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                AppendedBatchSizes.Add(batch.Count);
            }

            return result;
        }
    }
}
