using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;

namespace MqttIm.ImExtensions.Devices.Storage.Mongo;

/// <summary>
/// Commands in MongoDB. The seq comes from an atomic <c>$inc</c> on a per-device counter document; transitions are one
/// conditional <c>findOneAndUpdate</c> on the current state, so two nodes never both move a command.
/// Without multi-document transactions the open-queue bound is checked just before the increment (may be exceeded by
/// concurrent issuers on different nodes by at most their number).
/// </summary>
internal sealed class MongoCommandStore : ICommandStore
{
    private static readonly string[] OpenStates = [nameof(CommandState.Queued), nameof(CommandState.Sent), nameof(CommandState.Delivered)];
    private readonly IMongoCollection<CommandDocument> _commands;
    private readonly IMongoCollection<CommandSeqDocument> _seqs;
    private readonly Lazy<Task> _indexes;

    public MongoCommandStore(MongoDatabaseHandle handle)
    {
        _commands = handle.Database.GetCollection<CommandDocument>("iot_commands");
        _seqs = handle.Database.GetCollection<CommandSeqDocument>("iot_command_seq");
        var keys = Builders<CommandDocument>.IndexKeys;
        _indexes = new Lazy<Task>(() => _commands.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<CommandDocument>(keys.Ascending(c => c.DeviceId).Ascending(c => c.Seq), new CreateIndexOptions { Unique = true }),
            new CreateIndexModel<CommandDocument>(keys.Ascending(c => c.State).Ascending(c => c.DeviceId).Ascending(c => c.Seq)),
        ]));
    }

    public async Task<CommandRecord?> CreateAsync(CommandDraft draft, int maxOpenPerDevice, CancellationToken cancellationToken)
    {
        await _indexes.Value.ConfigureAwait(false);
        var open = await _commands.CountDocumentsAsync(c => c.DeviceId == draft.DeviceId && OpenStates.Contains(c.State), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (open >= maxOpenPerDevice)
        {
            return null;
        }

        var counter = await _seqs.FindOneAndUpdateAsync<CommandSeqDocument>(s => s.DeviceId == draft.DeviceId, Builders<CommandSeqDocument>.Update.Inc(s => s.LastSeq, 1),
            new FindOneAndUpdateOptions<CommandSeqDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After }, cancellationToken).ConfigureAwait(false);
        var record = CommandRecord.FromDraft(draft, counter.LastSeq);
        await _commands.InsertOneAsync(CommandDocument.From(record), cancellationToken: cancellationToken).ConfigureAwait(false);
        return record;
    }

    public async Task<CommandRecord?> GetAsync(string commandId, CancellationToken cancellationToken) =>
        (await _commands.Find(c => c.CommandId == commandId).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false))?.ToRecord();

    public async Task<CommandRecord?> TransitionAsync(string commandId, IReadOnlyCollection<CommandState> from, CommandState to, long atMs, string? detail, string? result, CancellationToken cancellationToken)
    {
        var fromNames = from.Select(s => s.ToString()).ToList();
        var update = Builders<CommandDocument>.Update.Set(c => c.State, to.ToString())
            .Push(c => c.History, new TransitionDocument { State = to.ToString(), AtMs = atMs, Detail = detail });
        if (to == CommandState.Sent)
        {
            update = update.Inc(c => c.Attempts, 1);
        }

        if (result is not null)
        {
            update = update.Set(c => c.Result, result);
        }

        var updated = await _commands.FindOneAndUpdateAsync<CommandDocument>(c => c.CommandId == commandId && fromNames.Contains(c.State), update,
            new FindOneAndUpdateOptions<CommandDocument> { ReturnDocument = ReturnDocument.After }, cancellationToken).ConfigureAwait(false);
        return updated?.ToRecord();
    }

    /// <summary>
    /// Write by write, in order: without multi-document transactions each write is durable on its own (the server's
    /// write concern), so the batch saves queueing in the broker, not commits.
    /// </summary>
    public async Task<IReadOnlyList<CommandRecord?>> ApplyAsync(IReadOnlyList<CommandWrite> writes, CancellationToken cancellationToken)
    {
        var results = new CommandRecord?[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            results[i] = writes[i] switch
            {
                CreateCommandWrite create => await CreateAsync(create.Draft, create.MaxOpenPerDevice, cancellationToken).ConfigureAwait(false),
                TransitionCommandWrite move => await TransitionAsync(move.CommandId, move.From, move.To, move.AtMs, move.Detail, move.Result, cancellationToken).ConfigureAwait(false),
                var other => throw new ArgumentException($"unknown command write {other.GetType().Name}", nameof(writes)),
            };
        }

        return results;
    }

    public async Task<IReadOnlyList<CommandRecord>> ListByDeviceAsync(string deviceId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        var found = await _commands.Find(c => c.DeviceId == deviceId && c.Seq > afterSeq).SortBy(c => c.Seq).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return found.Select(c => c.ToRecord()).ToList();
    }

    public async Task<IReadOnlyList<CommandRecord>> ListOpenAsync(string? deviceId, int limit, CancellationToken cancellationToken)
    {
        var filter = Builders<CommandDocument>.Filter.In(c => c.State, OpenStates);
        if (deviceId is not null)
        {
            filter &= Builders<CommandDocument>.Filter.Eq(c => c.DeviceId, deviceId);
        }

        var found = await _commands.Find(filter).SortBy(c => c.DeviceId).ThenBy(c => c.Seq).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return found.Select(c => c.ToRecord()).ToList();
    }
}
