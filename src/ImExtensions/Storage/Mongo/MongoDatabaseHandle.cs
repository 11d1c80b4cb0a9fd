using MongoDB.Driver;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>
/// The shared MongoDB database of a cluster: one <see cref="MongoClient"/> (it pools connections itself) for every
/// MongoDB store. Stores create their indexes on first use (<c>CreateMany</c> is idempotent).
/// </summary>
public sealed class MongoDatabaseHandle
{
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
}
