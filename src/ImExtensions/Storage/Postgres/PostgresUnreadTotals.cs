using System.IO.Hashing;
using System.Text;
using Npgsql;

namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>
/// Each user's total unread (<c>im_user_unread</c>), kept in the same transaction as every change that moves an unread
/// count: the sum of <c>max(0, max_seq − max(read_seq, joined_seq − 1))</c> over the user's rows. Every writer applies its
/// exact delta (row inserted: + its unread, removed: − it, changed: after − before, head moved: each member's difference).
/// </summary>
/// <remarks>
/// A delta is right only if nobody else changes the same conversation's head or rows between reading and writing, so
/// every such writer (append, join, leave, read mark) first takes a transaction advisory lock per conversation, in one
/// global order (sorted hashes), in the same implicit transaction as its statement (an <see cref="NpgsqlBatch"/>: one
/// round trip). The totals themselves are increments, written in user order, so concurrent writers never deadlock.
/// </remarks>
internal static class PostgresUnreadTotals
{
    /// <summary>The advisory lock class of conversation locks (the second key is the conversation id's hash).</summary>
    private const int LockClass = 7321002;

    /// <summary>One conversation row's unread, for a table alias: <c>GREATEST(0, {max} − GREATEST(read_seq, joined_seq − 1))</c>.</summary>
    public static string Unread(string maxSeq, string alias) =>
        $"GREATEST(0, {maxSeq} - GREATEST({alias}.read_seq, {alias}.joined_seq - 1))";

    /// <summary>Created with the chat tables; filled once from the rows when it is new (a database from before it).</summary>
    public const string Ddl = """
        DO $$
        BEGIN
            IF to_regclass('im_user_unread') IS NULL THEN
                CREATE TABLE im_user_unread (user_id text COLLATE "C" PRIMARY KEY, total bigint NOT NULL);
                INSERT INTO im_user_unread (user_id, total)
                SELECT uc.user_id, SUM(GREATEST(0, COALESCE(c.max_seq, 0) - GREATEST(uc.read_seq, uc.joined_seq - 1)))::bigint
                FROM im_user_conversations uc LEFT JOIN im_conversations c ON c.conversation_id = uc.conversation_id
                GROUP BY uc.user_id;
            END IF;
        END $$;
        """;

    /// <summary>Adds the (user_id, delta) rows of <paramref name="deltas"/> (a SELECT) to the totals, in user order.</summary>
    public static string AddToTotals(string deltas) => $"""
        INSERT INTO im_user_unread AS t (user_id, total)
        SELECT user_id, SUM(delta)::bigint FROM ({deltas}) d GROUP BY user_id HAVING SUM(delta) <> 0 ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET total = t.total + excluded.total
        """;

    /// <summary>A batch whose first command locks the conversations; add the statement after it.</summary>
    public static NpgsqlBatch LockedBatch(PostgresDatabase database, IEnumerable<string> conversationIds)
    {
        var keys = conversationIds
            .Select(id => unchecked((int)XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(id))))
            .Distinct()
            .Order()
            .ToArray();
        var batch = database.DataSource.CreateBatch();
        // unnest yields in array order and the (volatile) lock is called row by row: the locks are taken in sorted order.
        var lockCommand = new NpgsqlBatchCommand($"SELECT count(*) FROM (SELECT pg_advisory_xact_lock({LockClass}, k) FROM unnest($1::int[]) AS k) locked");
        lockCommand.Parameters.Add(new NpgsqlParameter { Value = keys });
        batch.BatchCommands.Add(lockCommand);
        return batch;
    }

    public static NpgsqlBatchCommand Add(this NpgsqlBatch batch, string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        batch.BatchCommands.Add(command);
        return command;
    }
}
