using Microsoft.Data.Sqlite;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Storage.Embedded;

/// <summary>
/// What the message log's appends change in the embedded database — conversation heads (max seq, last activity), 1:1
/// participants and the unread totals that move with them — held in memory and written in one transaction per
/// checkpoint instead of one per group commit. The row <c>message_log_checkpoint</c> says up to which log position
/// they are written, in the same transaction, so a restart replays exactly the log records after it.
/// </summary>
/// <remarks>
/// A busy conversation's head then costs one row write per checkpoint, not per commit. Nothing reads the database
/// without them: <see cref="SqliteDatabase"/> applies them first in every transaction, and before every read.
/// </remarks>
internal sealed class ConversationHeadCheckpoint : ISqliteDeferredWrites
{
    public const string Ddl = "CREATE TABLE IF NOT EXISTS message_log_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);";

    private const int KnownParticipantsLimit = 1_000_000;

    // ~100 bytes a conversation; past 100,000 the cache starts over (see the head read in Apply).
    private const int HeadSeqsLimit = 100_000;

    private readonly TimeProvider _time;
    private readonly TimeSpan _maxDelay;
    private readonly int _maxPendingHeads;
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private readonly object _gate = new();
    private Pending _pending = new();
    private Pending? _inFlight;

    // Each conversation's max_seq as committed to the database: only Apply writes heads (the log's lock keeps every
    // other process off this data directory), so a hit is exact. Touched only under _applyLock.
    private readonly Dictionary<string, long> _headSeqs = new(StringComparer.Ordinal);

    // 1:1 and notification participants are never removed, so a pair written once need not be written again.
    private readonly HashSet<(string UserId, string ConversationId)> _knownParticipants = [];

    public ConversationHeadCheckpoint(TimeProvider time, TimeSpan maxDelay, int maxPendingHeads)
    {
        _time = time;
        _maxDelay = maxDelay;
        _maxPendingHeads = maxPendingHeads;
    }

    public bool HasPending
    {
        get
        {
            lock (_gate)
            {
                // An apply in flight counts: a reader must wait for its commit (the database's write lock), not read past it.
                return _pending.HasChanges || _inFlight is not null;
            }
        }
    }

    /// <summary>Whether enough is pending (heads, or time since the oldest) that the appender should checkpoint now.</summary>
    public bool IsDue
    {
        get
        {
            lock (_gate)
            {
                return _pending.HasChanges
                    && (_pending.Heads.Count >= _maxPendingHeads || _time.GetElapsedTime(_pending.SinceTimestamp) >= _maxDelay);
            }
        }
    }

    /// <summary>Takes in the effects of messages now stored in the log, which ends at <paramref name="logEnd"/> after them.</summary>
    public void Add(IReadOnlyList<ChatMessage> stored, long logEnd)
    {
        lock (_gate)
        {
            var pending = _pending;
            if (!pending.HasChanges)
            {
                pending.SinceTimestamp = _time.GetTimestamp();
            }

            foreach (var message in stored)
            {
                pending.Take(message);
            }

            pending.LogEnd = Math.Max(pending.LogEnd, logEnd);
        }
    }

    /// <summary>The log position the database's heads cover; records from here on must be replayed into <see cref="Add"/>.</summary>
    public static long ReadPosition(SqliteConnection connection)
    {
        using var command = connection.Command("SELECT position FROM message_log_checkpoint WHERE id = 1");
        return command.ExecuteScalar() is long position ? position : 0;
    }

    public static void WritePosition(SqliteConnection connection, SqliteTransaction transaction, long position)
    {
        using var command = connection.Command(
            "INSERT INTO message_log_checkpoint (id, position) VALUES (1, $p) ON CONFLICT (id) DO UPDATE SET position = excluded.position",
            transaction, ("$p", position));
        command.ExecuteNonQuery();
    }

    public Task EnterAsync(CancellationToken cancellationToken) => _applyLock.WaitAsync(cancellationToken);

    public void Apply(SqliteConnection connection, SqliteTransaction transaction)
    {
        lock (_gate)
        {
            if (!_pending.HasChanges)
            {
                return;
            }

            _inFlight = _pending;
            _pending = new Pending();
        }

        var taken = _inFlight;
        using var maxSeq = connection.Command("SELECT max_seq FROM conversations WHERE conversation_id = $c", transaction, ("$c", ""));
        using var head = connection.Command(
            """
            INSERT INTO conversations (conversation_id, max_seq, last_activity_ms, last_message) VALUES ($c, $s, $t, NULL)
            ON CONFLICT (conversation_id) DO UPDATE SET max_seq = excluded.max_seq, last_activity_ms = excluded.last_activity_ms,
                last_message = NULL WHERE excluded.max_seq > conversations.max_seq
            """, transaction, ("$c", ""), ("$s", 0L), ("$t", 0L));
        using var headMoved = SqliteUnreadTotals.HeadMovedCommand(connection, transaction);
        foreach (var (conversationId, (seq, timeMs)) in taken.Heads)
        {
            // The members' unread totals move with the head (SqliteUnreadTotals).
            if (!_headSeqs.TryGetValue(conversationId, out var oldMaxSeq))
            {
                maxSeq.Parameters[0].Value = conversationId;
                oldMaxSeq = maxSeq.ExecuteScalar() is long stored ? stored : 0;
            }

            taken.MovedHeads.Add((conversationId, Math.Max(oldMaxSeq, seq)));
            if (seq <= oldMaxSeq)
            {
                continue; // a replay of records the database already has (a crash between a checkpoint and its position)
            }

            head.Parameters[0].Value = conversationId;
            head.Parameters[1].Value = seq;
            head.Parameters[2].Value = timeMs;
            head.ExecuteNonQuery();
            SqliteUnreadTotals.ApplyHeadMoved(headMoved, conversationId, oldMaxSeq, seq);
        }

        taken.Participants.RemoveWhere(_knownParticipants.Contains);
        using var participant = connection.Command(
            "INSERT OR IGNORE INTO user_conversations (user_id, conversation_id) VALUES ($u, $c)", transaction, ("$u", ""), ("$c", ""));
        using var unreadRow = SqliteUnreadTotals.RowCommand(connection, transaction);
        foreach (var (userId, conversationId) in taken.Participants)
        {
            participant.Parameters[0].Value = userId;
            participant.Parameters[1].Value = conversationId;
            if (participant.ExecuteNonQuery() == 1)
            {
                SqliteUnreadTotals.ApplyRow(unreadRow, userId, conversationId, sign: 1);
            }
        }

        WritePosition(connection, transaction, taken.LogEnd);
    }

    public void Exit(bool committed)
    {
        try
        {
            Pending? taken;
            lock (_gate)
            {
                taken = _inFlight;
                _inFlight = null;
            }

            if (taken is null)
            {
                return;
            }

            if (committed)
            {
                if (_headSeqs.Count > HeadSeqsLimit)
                {
                    _headSeqs.Clear();
                }

                foreach (var (conversationId, seq) in taken.MovedHeads)
                {
                    _headSeqs[conversationId] = seq;
                }

                if (_knownParticipants.Count > KnownParticipantsLimit)
                {
                    _knownParticipants.Clear();
                }

                _knownParticipants.UnionWith(taken.Participants);
                return;
            }

            // Rolled back: the heads may or may not have moved in the cache's view, and the changes are still owed.
            _headSeqs.Clear();
            lock (_gate)
            {
                taken.MovedHeads.Clear();
                foreach (var (conversationId, (seq, timeMs)) in _pending.Heads)
                {
                    taken.TakeHead(conversationId, seq, timeMs);
                }

                taken.Participants.UnionWith(_pending.Participants);
                taken.LogEnd = Math.Max(taken.LogEnd, _pending.LogEnd);
                _pending = taken;
            }
        }
        finally
        {
            _applyLock.Release();
        }
    }

    private sealed class Pending
    {
        public readonly Dictionary<string, (long Seq, long TimeMs)> Heads = new(StringComparer.Ordinal);
        public readonly HashSet<(string UserId, string ConversationId)> Participants = [];
        public readonly List<(string ConversationId, long Seq)> MovedHeads = [];
        public long LogEnd;
        public long SinceTimestamp;

        public bool HasChanges => Heads.Count > 0 || Participants.Count > 0;

        public void Take(ChatMessage message)
        {
            TakeHead(message.ConversationId, message.Seq, message.ServerTimeMs);
            if (message.ConversationId.StartsWith("c2c:", StringComparison.Ordinal))
            {
                Participants.Add((message.SenderId, message.ConversationId));
            }

            if (message.RecipientId.Length > 0)
            {
                Participants.Add((message.RecipientId, message.ConversationId));
            }
        }

        public void TakeHead(string conversationId, long seq, long timeMs)
        {
            if (!Heads.TryGetValue(conversationId, out var current) || seq > current.Seq)
            {
                Heads[conversationId] = (seq, timeMs);
            }
        }
    }
}
