using System.Buffers;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage.Sqlite;
using Prometheus;

namespace MqttIm.ImExtensions.Storage.Embedded;

/// <summary>
/// The embedded store's messages: an append-only log file (<see cref="MessageLogFile"/>) beside the database, its
/// in-memory index (<see cref="MessageLogIndex"/>), and the heads it owes the database (<see cref="ConversationHeadCheckpoint"/>).
/// One instance per log file in a process, shared by every store opened over the same database.
/// </summary>
internal sealed class MessageLog
{
    // Every store over one database file shares its log: the file is opened exclusively, and two indexes of one file
    // would each miss the other's appends.
    private static readonly Dictionary<string, MessageLog> Opened = new(StringComparer.Ordinal);

    private static readonly Gauge StoredMessages = Metrics.CreateGauge(
        "mqttim_message_log_messages", "Messages stored in the embedded message log (each once, however many members read it).");

    private static readonly Gauge StoredBytes = Metrics.CreateGauge(
        "mqttim_message_log_bytes", "Size of the embedded message log file; its in-memory index costs ~80 bytes per message on top.");

    private readonly string _path;
    private readonly MessageLogFile _file;
    private readonly MessageLogIndex _index;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private int _references;

    private MessageLog(string path, MessageLogFile file, MessageLogIndex index, ConversationHeadCheckpoint checkpoint)
    {
        _path = path;
        _file = file;
        _index = index;
        Checkpoint = checkpoint;
    }

    public ConversationHeadCheckpoint Checkpoint { get; }

    /// <summary>The log file of a database: <c>mqttim.db</c> keeps its messages in <c>mqttim.messages.log</c>.</summary>
    public static string PathOf(SqliteDatabase database) =>
        Path.Combine(Path.GetDirectoryName(database.FilePath)!, Path.GetFileNameWithoutExtension(database.FilePath) + ".messages.log");

    /// <summary>The log of this database, opened (recovered, migrated) by the first caller; each call needs one <see cref="Release"/>.</summary>
    public static MessageLog Acquire(SqliteDatabase database, TimeProvider time, ILogger logger)
    {
        var path = PathOf(database);
        lock (Opened)
        {
            if (!Opened.TryGetValue(path, out var log))
            {
                log = Open(database, path, time, logger);
                Opened.Add(path, log);
            }

            log._references++;
            return log;
        }
    }

    public void Release()
    {
        lock (Opened)
        {
            if (--_references == 0)
            {
                Opened.Remove(_path);
                _file.Dispose();
            }
        }
    }

    public async Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        await _appendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Only this method changes the index (one call at a time), so it reads the index without its lock.
            Dictionary<ClientMsgKey, ChatMessage>? duplicates = null;
            Dictionary<ClientMsgKey, ChatMessage>? keysInBatch = null;
            HashSet<(string, long)>? seqsInBatch = batch.Count > 1 ? [] : null;
            var accepted = new List<ChatMessage>(batch.Count);
            foreach (var message in batch)
            {
                if (message.ClientMsgId.Length > 0)
                {
                    var key = ClientMsgKey.Of(message);
                    var original = keysInBatch is not null && keysInBatch.TryGetValue(key, out var earlier) ? earlier : FindStored(key);
                    if (original is not null)
                    {
                        (duplicates ??= [])[key] = original;
                        continue;
                    }

                    (keysInBatch ??= [])[key] = message;
                }

                if (_index.Contains(message.ConversationId, message.Seq) || (seqsInBatch is not null && !seqsInBatch.Add((message.ConversationId, message.Seq))))
                {
                    throw new InvalidOperationException($"Seq {message.Seq} of {message.ConversationId} is already stored; nothing of this batch was.");
                }

                accepted.Add(message);
            }

            if (accepted.Count > 0)
            {
                Write(accepted);
            }

            return duplicates is null ? AppendResult.AllStored : new AppendResult(duplicates);
        }
        finally
        {
            _appendLock.Release();
        }
    }

    public long GetMaxSeq(string conversationId)
    {
        lock (_index)
        {
            return _index.GetMaxSeq(conversationId);
        }
    }

    public IReadOnlyDictionary<ClientMsgKey, ChatMessage> FindByClientMsgIds(IReadOnlyCollection<ClientMsgKey> keys)
    {
        var found = new Dictionary<ClientMsgKey, ChatMessage>();
        foreach (var key in keys)
        {
            if (key.ClientMsgId.Length > 0 && FindStored(key) is { } message)
            {
                found[key] = message;
            }
        }

        return found;
    }

    public IReadOnlyList<ChatMessage> ReadAfter(string conversationId, long afterSeq, int limit)
    {
        List<MessageLogIndex.Location> locations;
        lock (_index)
        {
            locations = _index.After(conversationId, afterSeq, limit);
        }

        return ReadAll(locations);
    }

    public IReadOnlyList<ChatMessage> ReadBefore(string conversationId, long beforeSeq, int limit)
    {
        List<MessageLogIndex.Location> locations;
        lock (_index)
        {
            locations = _index.Before(conversationId, beforeSeq, limit);
        }

        return ReadAll(locations);
    }

    public ChatMessage? Get(string conversationId, long seq)
    {
        MessageLogIndex.Location? location;
        lock (_index)
        {
            location = _index.Get(conversationId, seq);
        }

        return location is { } at ? Read(at) : null;
    }

    private void Write(List<ChatMessage> accepted)
    {
        var sizes = new int[accepted.Count];
        var total = 0;
        for (var i = 0; i < accepted.Count; i++)
        {
            sizes[i] = accepted[i].CalculateSize();
            total += MessageLogFile.HeaderBytes + sizes[i];
        }

        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            // Each message is serialised straight into its record, then the header is written over it.
            var offset = 0;
            for (var i = 0; i < accepted.Count; i++)
            {
                var record = buffer.AsSpan(offset, MessageLogFile.HeaderBytes + sizes[i]);
                accepted[i].WriteTo(record[MessageLogFile.HeaderBytes..]);
                MessageLogFile.SealRecord(record);
                offset += record.Length;
            }

            var position = _file.Append(buffer.AsSpan(0, total));
            lock (_index)
            {
                for (var i = 0; i < accepted.Count; i++)
                {
                    var message = accepted[i];
                    var length = MessageLogFile.HeaderBytes + sizes[i];
                    _index.Add(message.ConversationId, message.Seq, message.SenderId, message.ClientMsgId, new(position, length));
                    position += length;
                }
            }

            Checkpoint.Add(accepted, _file.Length);
            StoredMessages.Set(_index.MessageCount);
            StoredBytes.Set(_file.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ChatMessage? FindStored(ClientMsgKey key)
    {
        MessageLogIndex.Location first;
        MessageLogIndex.Location[]? others;
        lock (_index)
        {
            if (!_index.TryFindCandidates(key, out first, out others))
            {
                return null; // the common case, a send never stored: no read
            }
        }

        if (Read(first) is var message && ClientMsgKey.Of(message) == key)
        {
            return message;
        }

        foreach (var candidate in others ?? [])
        {
            message = Read(candidate);
            if (ClientMsgKey.Of(message) == key)
            {
                return message;
            }
        }

        return null;
    }

    private List<ChatMessage> ReadAll(List<MessageLogIndex.Location> locations)
    {
        var messages = new List<ChatMessage>(locations.Count);
        foreach (var location in locations)
        {
            messages.Add(Read(location));
        }

        return messages;
    }

    private ChatMessage Read(MessageLogIndex.Location location) =>
        ChatMessage.Parser.ParseFrom(_file.ReadBody(location.Position, location.Length));

    private static MessageLog Open(SqliteDatabase database, string path, TimeProvider time, ILogger logger)
    {
        database.EnsureSchema(ConversationHeadCheckpoint.Ddl);
        MessagesTableMigration.Run(database, path, logger);
        var covered = database.RunAtStart(ConversationHeadCheckpoint.ReadPosition);
        var checkpoint = new ConversationHeadCheckpoint(time, TimeSpan.FromSeconds(1), maxPendingHeads: 4096);
        var index = new MessageLogIndex();
        var replayed = 0;
        var file = MessageLogFile.Open(path, database.FullSync, (position, length, body) =>
        {
            var message = ChatMessage.Parser.ParseFrom(body);
            index.Add(message.ConversationId, message.Seq, message.SenderId, message.ClientMsgId, new(position, length));
            if (position >= covered)
            {
                checkpoint.Add([message], position + length); // stored, but its head was not written to the database yet
                replayed++;
            }
        });
        if (file.CutTailPath is not null)
        {
            logger.LogWarning("The message log {Path} ended in a partial record (a crash during a write that was never acknowledged); " +
                "the bytes after byte {Length} were moved to {CutTail}", path, file.Length, file.CutTailPath);
        }

        if (covered > file.Length)
        {
            logger.LogError("The database's conversation heads cover {Covered} bytes of the message log {Path}, which holds only {Length}: " +
                "the log was replaced or cut, and messages the heads count are missing", covered, path, file.Length);
        }

        logger.LogInformation("Message log {Path}: {Messages} messages, {Bytes} bytes; {Replayed} replayed into the conversation heads",
            path, index.MessageCount, file.Length, replayed);
        StoredMessages.Set(index.MessageCount);
        StoredBytes.Set(file.Length);
        return new MessageLog(path, file, index, checkpoint);
    }
}
