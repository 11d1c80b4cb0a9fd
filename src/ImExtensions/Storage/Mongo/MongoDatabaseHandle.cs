using System.Collections.Concurrent;
using MongoDB.Driver;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>
/// The shared MongoDB database of a cluster: one <see cref="MongoClient"/> (it pools connections itself) for every
/// MongoDB store. Stores create their indexes on first use through <see cref="EnsureOnceAsync"/> (index creation is
/// idempotent, so nodes starting at once do no harm).
/// </summary>
public sealed class MongoDatabaseHandle
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _setups = new(StringComparer.Ordinal);

    public MongoDatabaseHandle(string connectionString, string databaseName)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("Storage:MongoDB:ConnectionString is required when Storage:Provider is MongoDB.");
        }

        Client = new MongoClient(connectionString);
        Database = Client.GetDatabase(databaseName);
    }

    public MongoClient Client { get; }

    public IMongoDatabase Database { get; }

    /// <summary>Runs <paramref name="setup"/> (index creation) once per process for <paramref name="name"/>; a failed run is tried again next time.</summary>
    public Task EnsureOnceAsync(string name, Func<IMongoDatabase, Task> setup, CancellationToken cancellationToken)
    {
        var lazy = _setups.GetOrAdd(name, _ => new Lazy<Task>(() => setup(Database)));
        var task = lazy.Value;
        if (task.IsFaulted)
        {
            _setups.TryRemove(new KeyValuePair<string, Lazy<Task>>(name, lazy));
        }

        return task.WaitAsync(cancellationToken);
    }
}
