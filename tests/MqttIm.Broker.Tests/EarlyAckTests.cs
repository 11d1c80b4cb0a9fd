using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Embedded;
using MqttIm.Testing;

namespace MqttIm.Broker.Tests;

/// <summary>
/// Early-ack mode (CONNECT user property <c>ack=received</c>) against the default, with the broker's commits held or
/// failing on purpose: the whole broker runs in this process, its real message store behind <see cref="HeldMessageStore"/>,
/// and the clients are MQTTnet clients over loopback. While nothing can commit, a PUBACK means "received", not "stored".
/// </summary>
public sealed class EarlyAckTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> EarlyAck = new() { ["ack"] = "received" };
    private readonly InProcessBroker _broker = new();
    private HeldMessageStore _store = null!;

    public async Task InitializeAsync()
    {
        await _broker.StartAsync(services =>
        {
            services.AddSingleton(sp => new HeldMessageStore(ActivatorUtilities.CreateInstance<EmbeddedMessageStore>(sp)));
            services.AddSingleton<IMessageStore>(sp => sp.GetRequiredService<HeldMessageStore>());
        });
        _store = _broker.Services.GetRequiredService<HeldMessageStore>();
    }

    public Task DisposeAsync() => _broker.DisposeAsync().AsTask();

    [Fact]
    public async Task EarlyAck_PubAcksManySendsWhileCommitsAreHeld_DefaultModeWaitsForTheCommit()
    {
        const int outstanding = 20;
        var (alice, carol, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("carol"), TestUsers.Unique("bob"));
        await using var pipelined = await TestDevice.ConnectAsync(_broker, alice, connectProperties: EarlyAck);
        await using var plain = await TestDevice.ConnectAsync(_broker, carol);
        await using var receiver = await TestDevice.ConnectAsync(_broker, bob);

        Task<MqttClientPublishResult> waitingForCommit;
        MqttClientPublishResult[] received;
        using (_store.HoldCommits())
        {
            waitingForCommit = plain.SendAsync(bob, "stored first", "c1");
            // All sends in flight at once on one connection, none of them committed.
            received = await Task.WhenAll(Enumerable.Range(1, outstanding).Select(i => pipelined.SendAsync(bob, $"m{i}", $"p{i}")))
                .WaitAsync(TimeSpan.FromSeconds(30));

            Assert.All(received, r => Assert.True(r.IsSuccess, $"{r.ReasonCode} {r.ReasonString}"));
            Assert.All(received, r => Assert.Equal("received", r.Property("ack")));
            Assert.All(received, r => Assert.Null(r.Property("seq")));
            Assert.Equal(Enumerable.Range(1, outstanding).Select(i => $"p{i}").Order(), received.Select(r => r.Property("client_msg_id")!).Order());
            // Sent before the pipelined sends, answered only after the commit the lock holds back.
            Assert.False(waitingForCommit.IsCompleted, "a default-mode PUBACK arrived while no commit could finish");
        }

        var committed = await waitingForCommit.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(committed.IsSuccess, $"{committed.ReasonCode} {committed.ReasonString}");
        Assert.Equal("1", committed.Property("seq"));
        Assert.Null(committed.Property("ack"));

        // "Stored" arrives on the inbox, one send-ack per client message id, seqs 1..n in the conversation.
        var acks = new List<SendAck>();
        while (acks.Count < outstanding)
        {
            acks.Add((await pipelined.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.SendAck, TimeSpan.FromSeconds(60))).SendAck);
        }

        Assert.Equal(Enumerable.Range(1, outstanding).Select(i => (long)i), acks.Select(a => a.Seq).Order());
        Assert.Equal(Enumerable.Range(1, outstanding).Select(i => $"p{i}").Order(), acks.Select(a => a.ClientMsgId).Order());
        Assert.All(acks, a => Assert.Equal(TestUsers.C2c(alice, bob), a.ConversationId));
        var fromAlice = new List<ChatMessage>();
        while (fromAlice.Count < outstanding)
        {
            var message = await receiver.NextChatMessageAsync(TimeSpan.FromSeconds(30));
            if (message.SenderId == alice)
            {
                fromAlice.Add(message);
            }
        }

        Assert.Equal(Enumerable.Range(1, outstanding).Select(i => (long)i), fromAlice.Select(m => m.Seq));
    }

    [Fact]
    public async Task EarlyAckedSend_WhoseCommitFails_GetsAStoreUnavailableSendError_AndItsResendIsStored()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var sender = await TestDevice.ConnectAsync(_broker, alice, connectProperties: new Dictionary<string, string> { ["ack"] = "received" });
        await using var receiver = await TestDevice.ConnectAsync(_broker, bob);

        using (_store.FailCommits())
        {
            var accepted = await sender.SendAsync(bob, "not stored yet", "f1");
            Assert.True(accepted.IsSuccess, $"{accepted.ReasonCode} {accepted.ReasonString}");
            Assert.Equal("received", accepted.Property("ack"));

            // The commit fails after its retries (the failure outlasts them): the failure send-ack names the client message id.
            var failed = (await sender.NextEventAsync(e => e.EventCase is InboxEvent.EventOneofCase.SendError or InboxEvent.EventOneofCase.SendAck,
                TimeSpan.FromSeconds(60))).SendError;
            Assert.NotNull(failed);
            Assert.Equal(("f1", "store_unavailable", $"im/c2c/{bob}"), (failed.ClientMsgId, failed.Code, failed.Topic));
        }

        Assert.Equal("received", (await sender.SendAsync(bob, "not stored yet", "f1")).Property("ack"));
        var stored = (await sender.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.SendAck, TimeSpan.FromSeconds(30))).SendAck;
        Assert.Equal(("f1", 1L, false), (stored.ClientMsgId, stored.Seq, stored.Duplicate));
        var delivered = await receiver.NextChatMessageAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(("not stored yet", 1L), (delivered.Text, delivered.Seq));
    }
}

/// <summary>The broker's real message store, whose appends a test can hold or make fail, until it disposes what it was given.</summary>
internal sealed class HeldMessageStore(EmbeddedMessageStore inner) : PassThroughMessageStore(inner), IDisposable
{
    private volatile TaskCompletionSource? _held;
    private volatile bool _failing;

    public IDisposable HoldCommits()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _held = held;
        return new Release(() =>
        {
            _held = null;
            held.SetResult();
        });
    }

    public IDisposable FailCommits()
    {
        _failing = true;
        return new Release(() => _failing = false);
    }

    public override async Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        if (_held is { } held)
        {
            await held.Task.WaitAsync(cancellationToken);
        }

        if (_failing)
        {
            throw new IOException("the test makes this commit fail");
        }

        return await Inner.AppendAsync(batch, cancellationToken);
    }

    public void Dispose() => ((IDisposable)Inner).Dispose();

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
