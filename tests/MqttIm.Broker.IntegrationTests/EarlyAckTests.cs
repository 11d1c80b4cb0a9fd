using Microsoft.Data.Sqlite;
using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Early-ack mode (CONNECT user property <c>ack=received</c>) against the default, with the broker's SQLite file
/// write-locked by the test: nothing can commit, so a PUBACK that arrives then means "received", not "stored".
/// </summary>
public sealed class EarlyAckTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly Dictionary<string, string> EarlyAck = new() { ["ack"] = "received" };

    [Fact]
    public async Task EarlyAck_PubAcksManySendsWhileTheStoreIsLocked_DefaultModeWaitsForTheCommit()
    {
        const int outstanding = 20;
        var (alice, carol, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("carol"), TestUsers.Unique("bob"));
        await using var pipelined = await TestDevice.ConnectAsync(fixture.Broker, alice, connectProperties: EarlyAck);
        await using var plain = await TestDevice.ConnectAsync(fixture.Broker, carol);
        await using var receiver = await TestDevice.ConnectAsync(fixture.Broker, bob);

        Task<MqttClientPublishResult> waitingForCommit;
        MqttClientPublishResult[] received;
        await using (await StoreLock.TakeAsync(fixture.Broker))
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
            Assert.False(waitingForCommit.IsCompleted, "a default-mode PUBACK arrived while the store could not commit");
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
}

/// <summary>The broker's store gives up on a locked file after one second here, so a commit fails while the test holds the lock.</summary>
public sealed class ShortBusyTimeoutBrokerFixture() : BrokerFixture("--Storage:SqliteBusyTimeout=00:00:01");

public sealed class EarlyAckCommitFailureTests(ShortBusyTimeoutBrokerFixture fixture) : IClassFixture<ShortBusyTimeoutBrokerFixture>
{
    [Fact]
    public async Task EarlyAckedSend_WhoseCommitFails_GetsAStoreUnavailableSendError_AndItsResendIsStored()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var sender = await TestDevice.ConnectAsync(fixture.Broker, alice, connectProperties: new Dictionary<string, string> { ["ack"] = "received" });
        await using var receiver = await TestDevice.ConnectAsync(fixture.Broker, bob);

        await using (await StoreLock.TakeAsync(fixture.Broker))
        {
            var accepted = await sender.SendAsync(bob, "not stored yet", "f1");
            Assert.True(accepted.IsSuccess, $"{accepted.ReasonCode} {accepted.ReasonString}");
            Assert.Equal("received", accepted.Property("ack"));

            // The commit fails after its retries (the lock outlasts them): the failure send-ack names the client message id.
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

/// <summary>Holds the write lock of a broker's SQLite file (BEGIN IMMEDIATE from this process) until disposed.</summary>
internal sealed class StoreLock : IAsyncDisposable
{
    private readonly SqliteConnection _connection;

    private StoreLock(SqliteConnection connection) => _connection = connection;

    public static async Task<StoreLock> TakeAsync(BrokerProcess broker)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(broker.DataDirectory, "mqttim.db")};Pooling=False;Default Timeout=30");
        await connection.OpenAsync();
        await using var begin = connection.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE";
        await begin.ExecuteNonQueryAsync();
        return new StoreLock(connection);
    }

    public async ValueTask DisposeAsync()
    {
        await using (var rollback = _connection.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        await _connection.DisposeAsync();
    }
}
