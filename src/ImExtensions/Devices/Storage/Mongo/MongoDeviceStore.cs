using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;

namespace MqttIm.ImExtensions.Devices.Storage.Mongo;

/// <summary>The device registry in MongoDB (collection <c>iot_devices</c>, multikey index on owners).</summary>
internal sealed class MongoDeviceStore : IDeviceStore
{
    private readonly IMongoCollection<DeviceDocument> _devices;
    private readonly Lazy<Task> _indexes;

    public MongoDeviceStore(MongoDatabaseHandle handle)
    {
        _devices = handle.Database.GetCollection<DeviceDocument>("iot_devices");
        _indexes = new Lazy<Task>(() => _devices.Indexes.CreateOneAsync(new CreateIndexModel<DeviceDocument>(Builders<DeviceDocument>.IndexKeys.Ascending(d => d.Owners))));
    }

    public async Task<bool> CreateAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        await _indexes.Value.ConfigureAwait(false);
        try
        {
            await _devices.InsertOneAsync(DeviceDocument.From(device), cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MongoWriteException ex) when (ex.WriteError.Category == ServerErrorCategory.DuplicateKey)
        {
            return false;
        }
    }

    public async Task<DeviceRecord?> GetAsync(string deviceId, CancellationToken cancellationToken) =>
        (await _devices.Find(d => d.DeviceId == deviceId).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false))?.ToRecord();

    public async Task<bool> UpdateAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        var update = Builders<DeviceDocument>.Update.Set(d => d.SecretHash, device.SecretHash).Set(d => d.Disabled, device.Disabled)
            .Set(d => d.Owners, device.Owners.ToList()).Set(d => d.SecretChangedMs, device.SecretChangedMs);
        var result = await _devices.UpdateOneAsync(d => d.DeviceId == device.DeviceId, update, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.MatchedCount == 1;
    }

    public async Task<bool> DeleteAsync(string deviceId, CancellationToken cancellationToken) =>
        (await _devices.DeleteOneAsync(d => d.DeviceId == deviceId, cancellationToken).ConfigureAwait(false)).DeletedCount == 1;

    public async Task<IReadOnlyList<DeviceRecord>> ListAsync(IReadOnlyCollection<string>? principals, string afterId, int limit, CancellationToken cancellationToken)
    {
        var filter = Builders<DeviceDocument>.Filter.Gt(d => d.DeviceId, afterId);
        if (principals is not null)
        {
            filter &= Builders<DeviceDocument>.Filter.AnyIn(d => d.Owners, principals);
        }

        var found = await _devices.Find(filter).SortBy(d => d.DeviceId).Limit(limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return found.Select(d => d.ToRecord()).ToList();
    }
}
