using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Storage.Postgres;

namespace MqttIm.ImExtensions.Storage;

/// <summary>Chooses the message, conversation and group stores by <c>Storage:Provider</c>.</summary>
public static class StorageServiceRegistration
{
    /// <summary>
    /// Registers the PostgreSQL or MongoDB stores when configured (called before the embedded defaults, which are only
    /// added where nothing is registered), and refuses the embedded SQLite store for a multi-node cluster at start-up.
    /// </summary>
    public static IServiceCollection AddDurableStores(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Validate<IOptions<ClusterOptions>>(
                (storage, cluster) => !(cluster.Value.Enabled && storage.Provider == StorageProviders.Sqlite),
                "Storage:Provider=Sqlite is a single-node store, but Cluster:Redis is set (multi-node): every node must share one " +
                "store. Set Storage:Provider=PostgreSQL (with Storage:PostgreSQL:ConnectionString) or MongoDB (with " +
                "Storage:MongoDB:ConnectionString), or remove Cluster:Redis to run one node.")
            .Validate(
                storage => storage.Provider != StorageProviders.PostgreSQL || !string.IsNullOrWhiteSpace(storage.PostgreSQL.ConnectionString),
                "Storage:Provider=PostgreSQL needs Storage:PostgreSQL:ConnectionString.")
            .Validate(
                storage => storage.Provider != StorageProviders.MongoDB || !string.IsNullOrWhiteSpace(storage.MongoDB.ConnectionString),
                "Storage:Provider=MongoDB needs Storage:MongoDB:ConnectionString.")
            .ValidateOnStart();

        switch (configuration.GetSection(StorageOptions.SectionName)[nameof(StorageOptions.Provider)])
        {
            case StorageProviders.PostgreSQL:
                services.TryAddSingleton<IMessageStore>(sp => new PostgresMessageStore(sp.GetRequiredService<PostgresDatabase>()));
                services.TryAddSingleton<IConversationStore>(sp => new PostgresConversationStore(sp.GetRequiredService<PostgresDatabase>()));
                services.TryAddSingleton<IGroupStore>(sp => new PostgresGroupStore(sp.GetRequiredService<PostgresDatabase>()));
                break;
        }

        return services;
    }
}
