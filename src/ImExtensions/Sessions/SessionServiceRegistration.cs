using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Hooks;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// Registers who owns which client id (persisted), session expiry (<c>Sessions</c>), token expiry enforcement and the
/// <c>Memory</c> bounds.
/// </summary>
internal static class SessionServiceRegistration
{
    public static IServiceCollection AddSessionPolicy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MemoryOptions>().Bind(configuration.GetSection(MemoryOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<IClientIdOwnerStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider switch
        {
            StorageProviders.PostgreSQL => new PostgresClientIdOwnerStore(sp.GetRequiredService<PostgresDatabase>()),
            StorageProviders.MongoDB => new MongoClientIdOwnerStore(sp.GetRequiredService<MongoDatabaseHandle>()),
            _ => new SqliteClientIdOwnerStore(sp.GetRequiredService<SqliteDatabase>()),
        });
        services.TryAddSingleton(sp => new ClientIdOwnership(
            sp.GetRequiredService<IClientIdOwnerStore>(),
            new BoundedLruCache<string, string>("client_id_owners", sp.GetRequiredService<IOptions<MemoryOptions>>().Value.ClientIdOwners, StringComparer.Ordinal),
            sp.GetRequiredService<MqttIm.ImExtensions.Storage.Offload.StoreWorkPool>()));
        services.TryAddSingleton<SessionExpiryTracker>();
        services.TryAddSingleton<SessionExpirySweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionExpirySweeper>());
        services.TryAddSingleton<TokenExpiryEnforcer>();
        services.TryAddSingleton<IClientIdClaims, LocalClientIdClaims>(); // cluster mode registers the Redis claims first
        return services;
    }
}
