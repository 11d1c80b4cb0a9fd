using Microsoft.Data.Sqlite;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>
/// Each user's total unread (<c>user_unread</c>), kept in the same transaction as every change that moves an unread
/// count, so reading it is one row instead of a sum over all of the user's conversations. The invariant: a user's
/// total is the sum of <c>max(0, max_seq − max(read_seq, joined_seq − 1))</c> over their <c>user_conversations</c>
/// rows. Every writer applies its exact delta: a row inserted adds its unread, a row removed subtracts it, a row
/// updated adds after − before, and a conversation head that moves adds the difference for each of its members.
/// </summary>
internal static class SqliteUnreadTotals
{
    private const string Unread = "MAX(0, {0} - MAX(uc.read_seq, uc.joined_seq - 1))";

    public const string Ddl = "CREATE TABLE IF NOT EXISTS user_unread (user_id TEXT PRIMARY KEY, total INTEGER NOT NULL) WITHOUT ROWID;";

    /// <summary>Creates the table and, when it did not exist yet (a database from before it), fills it once from the rows.</summary>
    public static void EnsureSchema(SqliteConnection writer)
    {
        using var exists = writer.Command("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'user_unread'");
        if (exists.ExecuteScalar() is long found && found != 0)
        {
            return;
        }

        using var transaction = writer.BeginTransaction();
        using (var create = writer.Command(Ddl, transaction))
        {
            create.ExecuteNonQuery();
        }

        using (var fill = writer.Command(
            $"""
            INSERT INTO user_unread (user_id, total)
            SELECT uc.user_id, SUM({string.Format(Unread, "COALESCE(c.max_seq, 0)")})
            FROM user_conversations uc LEFT JOIN conversations c ON c.conversation_id = uc.conversation_id
            WHERE true GROUP BY uc.user_id
            """, transaction))
        {
            fill.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>
    /// Adds (<paramref name="sign"/> 1) or subtracts (−1) one row's current unread to its user's total: run −1 before
    /// changing or deleting the row and +1 after inserting or changing it. No row, no change.
    /// </summary>
    public static SqliteCommand RowCommand(SqliteConnection connection, SqliteTransaction? transaction) => connection.Command(
        $"""
        INSERT INTO user_unread (user_id, total)
        SELECT uc.user_id, $sign * {string.Format(Unread, "COALESCE(c.max_seq, 0)")}
        FROM user_conversations uc LEFT JOIN conversations c ON c.conversation_id = uc.conversation_id
        WHERE uc.user_id = $u AND uc.conversation_id = $c
        ON CONFLICT (user_id) DO UPDATE SET total = total + excluded.total
        """, transaction, ("$sign", 1L), ("$u", ""), ("$c", ""));

    public static void ApplyRow(SqliteCommand rowCommand, string userId, string conversationId, long sign)
    {
        rowCommand.Parameters[0].Value = sign;
        rowCommand.Parameters[1].Value = userId;
        rowCommand.Parameters[2].Value = conversationId;
        rowCommand.ExecuteNonQuery();
    }

    /// <summary>A conversation's head moved from <c>$old</c> to <c>$new</c>: every member's total changes by its row's difference.</summary>
    public static SqliteCommand HeadMovedCommand(SqliteConnection connection, SqliteTransaction? transaction) => connection.Command(
        $"""
        INSERT INTO user_unread (user_id, total)
        SELECT uc.user_id, {string.Format(Unread, "$new")} - {string.Format(Unread, "$old")}
        FROM user_conversations uc
        WHERE uc.conversation_id = $c AND {string.Format(Unread, "$new")} <> {string.Format(Unread, "$old")}
        ON CONFLICT (user_id) DO UPDATE SET total = total + excluded.total
        """, transaction, ("$c", ""), ("$old", 0L), ("$new", 0L));

    public static void ApplyHeadMoved(SqliteCommand headMoved, string conversationId, long oldMaxSeq, long newMaxSeq)
    {
        headMoved.Parameters[0].Value = conversationId;
        headMoved.Parameters[1].Value = oldMaxSeq;
        headMoved.Parameters[2].Value = newMaxSeq;
        headMoved.ExecuteNonQuery();
    }
}
