using System.Diagnostics;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Embedded;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.Storage.ContractTests.Embedded;

/// <summary>
/// The embedded message store across restarts: what the contract's reopen cannot show, because stores of one process
/// share one open log. Each test closes (or copies the files of) a store and opens the files again.
/// </summary>
public sealed class MessageLogRecoveryTests : IDisposable
{
    private readonly CancellationToken _ct = CancellationToken.None;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mqttim-log-" + Guid.NewGuid().ToString("N")[..12]);

    public MessageLogRecoveryTests() => Directory.CreateDirectory(_directory);

    private string DatabasePath(string directory) => Path.Combine(directory, "test.db");

    [Fact]
    public async Task Restart_ReadsEveryMessageBack_FindsEveryResend_AndKeepsTheHeads()
    {
        using (var first = Open(_directory))
        {
            await first.Messages.AppendAsync(Enumerable.Range(1, 50).Select(i => Message("c2c:alice:bob", i, $"m{i}")).ToList(), _ct);
            await first.Messages.AppendAsync([Message("c2c:alice:carol", 1, "m1", recipient: "carol")], _ct);
        }

        using var second = Open(_directory);

        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), (await second.Messages.ReadAfterAsync("c2c:alice:bob", 0, 100, _ct)).Select(m => m.Seq));
        Assert.Equal("message 37", (await second.Messages.GetAsync("c2c:alice:bob", 37, _ct))!.Text);
        Assert.Equal(50, await second.Messages.GetMaxSeqAsync("c2c:alice:bob", _ct));
        Assert.Equal(2, (await second.Messages.FindByClientMsgIdsAsync([new("c2c:alice:bob", "alice", "m9"), new("c2c:alice:carol", "alice", "m1")], _ct)).Count);
        var resend = await second.Messages.AppendAsync([Message("c2c:alice:bob", 51, "m9")], _ct);
        Assert.Equal(9, resend.Duplicates.Single().Value.Seq);
        Assert.Equal(50, (await second.Conversations.GetUnreadAsync("bob", null, _ct)).TotalUnread); // the resend was not stored again
        Assert.Equal(50, (await second.Conversations.ListAsync("bob", null, 10, _ct)).Conversations.Single(c => c.ConversationId == "c2c:alice:bob").LastMessage!.Seq);
        Assert.False(TableExists(_directory, "messages"));
    }

    [Fact]
    public async Task Restart_ReadsALogLargerThanItsScanChunk_AndARecordLargerThanIt()
    {
        // The open reads the log 1 MiB at a time: records must be found across chunk edges, and one larger than a chunk whole.
        var text = new string('t', 700);
        using (var first = Open(_directory))
        {
            for (var batch = 0; batch < 6; batch++)
            {
                var messages = Enumerable.Range(batch * 500 + 1, 500).Select(i => Message("c2c:alice:bob", i, $"m{i}")).ToList();
                messages.ForEach(m => m.Text = text);
                await first.Messages.AppendAsync(messages, _ct);
            }

            var large = Message("c2c:alice:bob", 3001, "large");
            large.Text = new string('L', 1_500_000);
            await first.Messages.AppendAsync([large, Message("c2c:alice:bob", 3002, "after")], _ct);
        }

        Assert.True(new FileInfo(Path.Combine(_directory, "test.messages.log")).Length > 3 * 1024 * 1024);
        using var second = Open(_directory);

        Assert.Equal(3002, await second.Messages.GetMaxSeqAsync("c2c:alice:bob", _ct));
        Assert.Equal(Enumerable.Range(1, 3002).Select(i => (long)i), (await second.Messages.ReadAfterAsync("c2c:alice:bob", 0, 5000, _ct)).Select(m => m.Seq));
        Assert.Equal(1_500_000, (await second.Messages.GetAsync("c2c:alice:bob", 3001, _ct))!.Text.Length);
        Assert.Single(await second.Messages.FindByClientMsgIdsAsync([new("c2c:alice:bob", "alice", "after")], _ct));
        Assert.Empty(Directory.GetFiles(_directory, "*.corrupt-*"));
    }

    [Fact]
    public async Task Crash_BeforeACheckpoint_ReplaysTheHeadsFromTheLog()
    {
        var image = Path.Combine(_directory, "image");
        var time = new FakeTimeProvider(); // never due by time: only a read or the replay writes the heads
        using (var running = Open(_directory, time))
        {
            await running.Messages.AppendAsync(Enumerable.Range(1, 7).Select(i => Message("c2c:alice:bob", i, $"m{i}")).ToList(), _ct);
            await running.Messages.AppendAsync(Enumerable.Range(1, 3).Select(i => Message("c2c:bob:carol", i, $"n{i}", sender: "carol")).ToList(), _ct);

            // The files as a kill -9 now would leave them (cp takes no lock; the broker holds the log's).
            Directory.CreateDirectory(image);
            RunCp(_directory, image);
        }

        Assert.Equal(0, CountRows(image, "SELECT COUNT(*) FROM conversations")); // the heads exist only in the log

        using var restarted = Open(image);

        var bob = await restarted.Conversations.GetUnreadAsync("bob", "c2c:alice:bob", _ct);
        Assert.Equal((10L, 7L), (bob.TotalUnread, bob.Conversation!.MaxSeq));
        Assert.Equal(3, (await restarted.Conversations.GetUnreadAsync("carol", null, _ct)).TotalUnread);
        Assert.True((await restarted.Conversations.ShareConversationAsync("alice", "bob", _ct)));
        Assert.Equal(new FileInfo(Path.Combine(image, "test.messages.log")).Length, CountRows(image, "SELECT position FROM message_log_checkpoint"));
    }

    [Fact]
    public async Task TornTail_IsCutAndSetAside_AndTheLogGoesOnFromTheLastWholeRecord()
    {
        using (var first = Open(_directory))
        {
            await first.Messages.AppendAsync(Enumerable.Range(1, 3).Select(i => Message("c2c:alice:bob", i, $"m{i}")).ToList(), _ct);
        }

        // A write a crash interrupted: a header announcing 200 bytes, and 10 of them.
        var logPath = Path.Combine(_directory, "test.messages.log");
        var wholeLength = new FileInfo(logPath).Length;
        byte[] torn = [200, 0, 0, 0, 1, 2, 3, 4, .. new byte[10]];
        await using (var log = new FileStream(logPath, FileMode.Append))
        {
            await log.WriteAsync(torn);
        }

        using (var second = Open(_directory))
        {
            Assert.Equal(3, (await second.Messages.ReadAfterAsync("c2c:alice:bob", 0, 10, _ct)).Count);
            await second.Messages.AppendAsync([Message("c2c:alice:bob", 4, "m4")], _ct);
        }

        using var third = Open(_directory);
        Assert.Equal([1L, 2, 3, 4], (await third.Messages.ReadAfterAsync("c2c:alice:bob", 0, 10, _ct)).Select(m => m.Seq));
        var aside = Assert.Single(Directory.GetFiles(_directory, "test.messages.log.corrupt-*"));
        Assert.Equal(torn, await File.ReadAllBytesAsync(aside));
        Assert.True(new FileInfo(logPath).Length > wholeLength);
    }

    [Fact]
    public async Task MessagesTable_OfAnOlderVersion_MovesIntoTheLogOnce_EvenAfterAnInterruptedMove()
    {
        var stored = Enumerable.Range(1, 30).Select(i => Message("c2c:alice:bob", i, $"m{i}")).ToList();
        using (var database = new SqliteDatabase(DatabasePath(_directory), fullSync: true))
        {
            database.RunAtStart(connection =>
            {
                using var transaction = connection.BeginTransaction();
                Execute(connection, transaction, """
                    CREATE TABLE messages (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, sender_id TEXT NOT NULL,
                        client_msg_id TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
                    INSERT INTO conversations (conversation_id, max_seq, last_activity_ms) VALUES ('c2c:alice:bob', 30, 1);
                    INSERT INTO user_conversations (user_id, conversation_id) VALUES ('alice', 'c2c:alice:bob'), ('bob', 'c2c:alice:bob');
                    INSERT INTO user_unread (user_id, total) VALUES ('alice', 30), ('bob', 30);
                    """);
                using var insert = connection.Command("INSERT INTO messages VALUES ($c, $s, $u, $m, $b)", transaction, ("$c", ""), ("$s", 0L), ("$u", ""), ("$m", ""), ("$b", Array.Empty<byte>()));
                foreach (var message in stored)
                {
                    (insert.Parameters[0].Value, insert.Parameters[1].Value, insert.Parameters[2].Value, insert.Parameters[3].Value, insert.Parameters[4].Value) =
                        (message.ConversationId, message.Seq, message.SenderId, message.ClientMsgId, message.ToByteArray());
                    insert.ExecuteNonQuery();
                }

                transaction.Commit();
                return true;
            });
        }

        // What a move interrupted before it dropped the table leaves: part of a log beside the table.
        await File.WriteAllBytesAsync(Path.Combine(_directory, "test.messages.log"), new byte[100]);

        using (var upgraded = Open(_directory))
        {
            Assert.Equal(stored.Select(m => m.ServerMsgId), (await upgraded.Messages.ReadAfterAsync("c2c:alice:bob", 0, 100, _ct)).Select(m => m.ServerMsgId));
            Assert.Equal(30, (await upgraded.Conversations.GetUnreadAsync("bob", null, _ct)).TotalUnread); // not counted again
            await upgraded.Messages.AppendAsync([Message("c2c:alice:bob", 31, "m31")], _ct);
        }

        Assert.False(TableExists(_directory, "messages"));
        using var restarted = Open(_directory);
        Assert.Equal(31, (await restarted.Messages.ReadAfterAsync("c2c:alice:bob", 0, 100, _ct)).Count);
        Assert.Single(await restarted.Messages.FindByClientMsgIdsAsync([new("c2c:alice:bob", "alice", "m12")], _ct));
        Assert.Equal(31, (await restarted.Conversations.GetUnreadAsync("bob", null, _ct)).TotalUnread);
        Assert.Empty(Directory.GetFiles(_directory, "*.corrupt-*"));
    }

    [Fact]
    public void TheLogFile_IsHeldExclusively()
    {
        var path = Path.Combine(_directory, "exclusive.messages.log");
        using var held = MessageLogFile.Open(path, flushToDisk: false, static (_, _, _) => { });

        Assert.ThrowsAny<IOException>(() => MessageLogFile.Open(path, flushToDisk: false, static (_, _, _) => { }));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private Stores Open(string directory, TimeProvider? time = null)
    {
        var database = new SqliteDatabase(DatabasePath(directory), fullSync: true);
        var messages = new EmbeddedMessageStore(database, time: time);
        return new Stores(database, messages, new SqliteConversationStore(database, messages));
    }

    private static ChatMessage Message(string conversationId, long seq, string clientMsgId, string sender = "alice", string recipient = "bob") =>
        MessageStoreContract.Message(conversationId, seq, sender, recipient, clientMsgId);

    private bool TableExists(string directory, string table) =>
        CountRows(directory, $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'") == 1;

    private long CountRows(string directory, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath(directory)};Pooling=False");
        connection.Open();
        using var command = connection.Command(sql);
        return (long)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.Command(sql, transaction);
        command.ExecuteNonQuery();
    }

    private static void RunCp(string from, string to)
    {
        var files = Directory.GetFiles(from).Select(Path.GetFileName).ToList();
        var cp = Process.Start(new ProcessStartInfo("cp", [.. files.Select(f => Path.Combine(from, f!)), to]) { RedirectStandardError = true })!;
        cp.WaitForExit();
        Assert.True(cp.ExitCode == 0, cp.StandardError.ReadToEnd());
    }

    private sealed record Stores(SqliteDatabase Database, EmbeddedMessageStore Messages, SqliteConversationStore Conversations) : IDisposable
    {
        public void Dispose()
        {
            Messages.Dispose();
            Database.Dispose();
        }
    }
}
