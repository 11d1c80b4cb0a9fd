using System.Buffers;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Storage.Embedded;

/// <summary>
/// Moves the messages of a database from before the message log (its <c>messages</c> table) into the log, once.
/// </summary>
/// <remarks>
/// Repeatable until it finishes: while the table exists nothing else writes the log, so a log found beside it is the
/// partial copy of an interrupted run and is written again from the start. The table is dropped, and the checkpoint
/// set to the log's end (the heads already count those messages), in one transaction after the copy is on disk.
/// </remarks>
internal static class MessagesTableMigration
{
    private const int ChunkBytes = 1024 * 1024;

    public static void Run(SqliteDatabase database, string logPath, ILogger logger) => database.RunAtStart(connection =>
    {
        using (var exists = connection.Command("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'"))
        {
            if (exists.ExecuteScalar() is not long found || found == 0)
            {
                return 0;
            }
        }

        File.Delete(logPath);
        var copied = 0;
        long length;
        using (var log = MessageLogFile.Open(logPath, flushToDisk: true, static (_, _, _) => { }))
        {
            var chunk = new ArrayBufferWriter<byte>(ChunkBytes);
            using var rows = connection.Command("SELECT body FROM messages ORDER BY conversation_id, seq");
            using var reader = rows.ExecuteReader();
            while (reader.Read())
            {
                var body = (byte[])reader.GetValue(0);
                var record = chunk.GetSpan(MessageLogFile.HeaderBytes + body.Length)[..(MessageLogFile.HeaderBytes + body.Length)];
                body.CopyTo(record[MessageLogFile.HeaderBytes..]);
                MessageLogFile.SealRecord(record);
                chunk.Advance(record.Length);
                copied++;
                if (chunk.WrittenCount >= ChunkBytes)
                {
                    log.Append(chunk.WrittenSpan);
                    chunk.Clear();
                }
            }

            if (chunk.WrittenCount > 0)
            {
                log.Append(chunk.WrittenSpan);
            }

            length = log.Length;
        }

        using var transaction = connection.BeginTransaction();
        using (var drop = connection.Command("DROP TABLE messages", transaction))
        {
            drop.ExecuteNonQuery();
        }

        ConversationHeadCheckpoint.WritePosition(connection, transaction, length);
        transaction.Commit();
        logger.LogInformation("Moved {Messages} messages ({Bytes} bytes) from the database's messages table into the message log {Path}", copied, length, logPath);
        return copied;
    });
}
