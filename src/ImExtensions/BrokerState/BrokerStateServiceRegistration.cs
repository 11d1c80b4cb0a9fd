using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.BrokerState.Store;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.BrokerState;

/// <summary>Registers what keeps retained messages and persistent sessions across restarts; the store by <c>Storage:Provider</c>.</summary>
internal static class BrokerStateServiceRegistration
{
    public static IServiceCollection AddBrokerState(this IServiceCollection services)
    {
        services.TryAddSingleton<IBrokerStateStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider switch
        {
            StorageProviders.PostgreSQL => new PostgresBrokerStateStore(sp.GetRequiredService<PostgresDatabase>()),
            StorageProviders.MongoDB => new MongoBrokerStateStore(sp.GetRequiredService<MongoDatabaseHandle>()),
            _ => new SqliteBrokerStateStore(sp.GetRequiredService<SqliteDatabase>()),
        });
        services.TryAddSingleton<BrokerStateLoader>();
        services.TryAddSingleton<BrokerStateWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<BrokerStateWriter>());
        services.TryAddSingleton<RetainedMessagePersistence>();
        services.TryAddSingleton<PersistentSessions>();
        return services;
    }
}
