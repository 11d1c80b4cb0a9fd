using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;

namespace MqttIm.ImExtensions.Devices.Storage.Mongo;

/// <summary>Telemetry in MongoDB (collection <c>iot_telemetry</c>); a batch is one unordered bulk insert.</summary>
internal sealed class MongoTelemetryStore : ITelemetryStore
{
    private readonly IMongoCollection<TelemetryDocument> _points;
    private readonly Lazy<Task> _indexes;

    public MongoTelemetryStore(MongoDatabaseHandle handle)
    {
        _points = handle.Database.GetCollection<TelemetryDocument>("iot_telemetry");
        var keys = Builders<TelemetryDocument>.IndexKeys;
        _indexes = new Lazy<Task>(() => _points.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<TelemetryDocument>(keys.Ascending(p => p.DeviceId).Ascending(p => p.PointId)),
            new CreateIndexModel<TelemetryDocument>(keys.Ascending(p => p.ReceivedMs)),
        ]));
    }

    public async Task AppendAsync(IReadOnlyList<TelemetryPoint> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await _indexes.Value.ConfigureAwait(false);
        try
        {
            await _points.InsertManyAsync(batch.Select(TelemetryDocument.From), new InsertManyOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoBulkWriteException ex) when (ex.WriteErrors.All(e => e.Category == ServerErrorCategory.DuplicateKey))
        {
            // A retried batch: the points already there are the same points.
        }
    }

    public async Task<TelemetryPoint?> GetLatestAsync(string deviceId, CancellationToken cancellationToken) =>
        (await _points.Find(p => p.DeviceId == deviceId).SortByDescending(p => p.PointId).Limit(1).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false))?.ToPoint();

    public async Task<IReadOnlyList<TelemetryPoint>> QueryAsync(string deviceId, long fromMs, long toMs, long afterId, int limit, CancellationToken cancellationToken)
    {
        var found = await _points.Find(p => p.DeviceId == deviceId && p.PointId > afterId && p.ReceivedMs >= fromMs && p.ReceivedMs < toMs)
            .SortBy(p => p.PointId).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return found.Select(p => p.ToPoint()).ToList();
    }

    public async Task<long> DeleteOlderThanAsync(long cutoffMs, CancellationToken cancellationToken) =>
        (await _points.DeleteManyAsync(p => p.ReceivedMs < cutoffMs, cancellationToken).ConfigureAwait(false)).DeletedCount;
}
