using System.Diagnostics;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Embedded;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.Microbench;

/// <summary>
/// What the embedded store's in-memory index costs as history grows: fills a fresh store with N messages (1:1
/// conversations of 10 messages, each with a client message id and a 100-character text), closes it, and reports the
/// log's size, the time to open it again (scan + index + nothing to replay) and the managed memory the open store holds.
/// <c>dotnet run -c Release --project tests/MqttIm.Microbench -- message-log [messages]</c> (default 1,000,000).
/// </summary>
internal static class MessageLogOpenMeasurement
{
    private const int PerConversation = 10;
    private const int Batch = 2_000;

    public static async Task RunAsync(int messages)
    {
        var directory = Directory.CreateTempSubdirectory("mqttim-log-measure-").FullName;
        try
        {
            var databasePath = Path.Combine(directory, "mqttim.db");
            var text = new string('x', 100);
            var filling = Stopwatch.StartNew();
            using (var database = new SqliteDatabase(databasePath, fullSync: false))
            using (var store = new EmbeddedMessageStore(database))
            {
                var batch = new List<ChatMessage>(Batch);
                for (var i = 0; i < messages; i++)
                {
                    var conversation = i / PerConversation;
                    batch.Add(new ChatMessage
                    {
                        ConversationId = $"c2c:user{conversation:D7}:peer{conversation:D7}",
                        Seq = i % PerConversation + 1,
                        ServerMsgId = Guid.NewGuid().ToString("N"),
                        ClientMsgId = Guid.NewGuid().ToString("N"),
                        SenderId = $"user{conversation:D7}",
                        RecipientId = $"peer{conversation:D7}",
                        ServerTimeMs = 1_700_000_000_000 + i,
                        Text = text,
                        ContentType = "text",
                    });
                    if (batch.Count == Batch || i == messages - 1)
                    {
                        await store.AppendAsync(batch, CancellationToken.None);
                        batch.Clear();
                    }
                }
            }

            Console.WriteLine($"filled {messages:N0} messages in {filling.Elapsed.TotalSeconds:F1} s");
            var logBytes = new FileInfo(Path.Combine(directory, "mqttim.messages.log")).Length;
            var before = Heap();
            var opening = Stopwatch.StartNew();
            using (var database = new SqliteDatabase(databasePath, fullSync: false))
            using (var store = new EmbeddedMessageStore(database))
            {
                var opened = opening.Elapsed;
                var held = Heap() - before;
                var probe = Stopwatch.StartNew();
                var found = await store.FindByClientMsgIdsAsync([new ClientMsgKey("c2c:user0000007:peer0000007", "user0000007", "absent")], CancellationToken.None);
                var history = await store.ReadAfterAsync($"c2c:user{messages / PerConversation / 2:D7}:peer{messages / PerConversation / 2:D7}", 0, 100, CancellationToken.None);
                Console.WriteLine(
                    $"log {logBytes / 1048576.0:F0} MiB ({logBytes / (double)messages:F0} B/message); open {opened.TotalSeconds:F2} s " +
                    $"({messages / opened.TotalSeconds:N0} messages/s); managed heap held by the open store {held / 1048576.0:F0} MiB " +
                    $"({held / (double)messages:F0} B/message); a dedup miss + one 10-message history read {probe.Elapsed.TotalMilliseconds:F2} ms " +
                    $"({found.Count} found, {history.Count} read)");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
