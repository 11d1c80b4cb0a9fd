using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Storage.Embedded;

/// <summary>
/// The single-node message store: messages in an append-only log beside the embedded database (one write and one
/// fsync per group commit, read through an in-memory index), conversation heads and participants in the database,
/// written once per checkpoint (<see cref="ConversationHeadCheckpoint"/>).
/// </summary>
/// <remarks>
/// Why not the database: a B-tree insert rewrites pages of the table and of each index in every commit, which cost
/// about as much broker CPU as the rest of a chat message's path together (docs/BENCHMARKS.md); an append costs a
/// copy and a checksum. The heads stay in the database because the conversation, unread and group queries join them.
/// </remarks>
internal sealed class EmbeddedMessageStore : IMessageStore, IDisposable
{
    private readonly SqliteDatabase _database;
    private readonly MessageLog _log;
    private readonly ILogger _logger;
    private int _checkpointing;

    public EmbeddedMessageStore(SqliteDatabase database, ILogger<EmbeddedMessageStore>? logger = null, TimeProvider? time = null)
    {
        _database = database;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _log = MessageLog.Acquire(database, time ?? TimeProvider.System, _logger);
        database.AttachDeferredWrites(_log.Checkpoint);
    }

    public async Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return AppendResult.AllStored;
        }

        var result = await _log.AppendAsync(batch, cancellationToken).ConfigureAwait(false);
        if (_log.Checkpoint.IsDue && Interlocked.Exchange(ref _checkpointing, 1) == 0)
        {
            // Off the commit path: the messages are stored, and whatever reads the heads first writes them anyway.
            _ = Task.Run(CheckpointAsync, CancellationToken.None);
        }

        return result;
    }

    public Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken) =>
        Task.FromResult(_log.GetMaxSeq(conversationId));

    public Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken) =>
        Task.FromResult(_log.FindByClientMsgIds(keys));

    public Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(limit <= 0 ? [] : _log.ReadAfter(conversationId, afterSeq, limit));

    public Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(limit <= 0 ? [] : _log.ReadBefore(conversationId, beforeSeq, limit));

    public Task<ChatMessage?> GetAsync(string conversationId, long seq, CancellationToken cancellationToken) =>
        Task.FromResult(_log.Get(conversationId, seq));

    /// <summary>Writes the pending heads (so the next start replays nothing) and closes the log when no other store shares it.</summary>
    public void Dispose()
    {
        try
        {
            _database.FlushDeferredWritesAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception exception) when (exception is ObjectDisposedException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
        {
            _logger.LogWarning(exception, "The conversation heads were not written at shutdown; the next start replays them from the message log");
        }

        _log.Release();
    }

    private async Task CheckpointAsync()
    {
        try
        {
            await _database.FlushDeferredWritesAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // Still pending: the next checkpoint or database transaction writes them, a restart replays them.
            _logger.LogError(exception, "Writing the conversation heads of the message log failed");
        }
        finally
        {
            Volatile.Write(ref _checkpointing, 0);
        }
    }
}
