using MongoDB.Driver;
using MqttIm.ImExtensions.Storage.Mongo;

namespace MqttIm.ImExtensions.Devices.Storage.Mongo;

/// <summary>Command schedules in MongoDB (collection <c>iot_schedules</c>).</summary>
internal sealed class MongoScheduleStore(MongoDatabaseHandle handle) : IScheduleStore
{
    private readonly IMongoCollection<ScheduleDocument> _schedules = handle.Database.GetCollection<ScheduleDocument>("iot_schedules");

    public Task UpsertAsync(CommandSchedule schedule, CancellationToken cancellationToken) =>
        _schedules.ReplaceOneAsync(s => s.ScheduleId == schedule.ScheduleId, ScheduleDocument.From(schedule), new ReplaceOptions { IsUpsert = true }, cancellationToken);

    public async Task<CommandSchedule?> GetAsync(string scheduleId, CancellationToken cancellationToken) =>
        (await _schedules.Find(s => s.ScheduleId == scheduleId).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false))?.ToSchedule();

    public async Task<IReadOnlyList<CommandSchedule>> ListAsync(CancellationToken cancellationToken) =>
        (await _schedules.Find(FilterDefinition<ScheduleDocument>.Empty).SortBy(s => s.ScheduleId).ToListAsync(cancellationToken).ConfigureAwait(false)).Select(s => s.ToSchedule()).ToList();

    public async Task<bool> DeleteAsync(string scheduleId, CancellationToken cancellationToken) =>
        (await _schedules.DeleteOneAsync(s => s.ScheduleId == scheduleId, cancellationToken).ConfigureAwait(false)).DeletedCount == 1;
}
