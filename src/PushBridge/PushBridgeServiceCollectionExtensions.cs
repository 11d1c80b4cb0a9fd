using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Rpc;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.PushBridge;
using MqttIm.PushBridge.Delivery;
using MqttIm.PushBridge.Jobs;
using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Rpc;
using MqttIm.PushBridge.Storage;
using MqttIm.PushBridge.Scheduling;
using MqttIm.PushBridge.Storage.Mongo;
using MqttIm.PushBridge.Storage.Postgres;
using MqttIm.PushBridge.Storage.Sqlite;
using MqttIm.PushBridge.Tokens;
using MqttIm.PushBridge.Vendors;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the push bridge: stores of the configured <c>Storage:Provider</c>, vendor apps, scheduler, RPC methods.</summary>
public static class PushBridgeServiceCollectionExtensions
{
    /// <summary>Call before <c>AddMqttImExtensions</c>, so the bridge's offline-recipient sink replaces the no-op default.</summary>
    public static IServiceCollection AddPushBridge(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PushOptions>().Bind(configuration.GetSection(PushOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IPushTokenStore>(sp => Provider(sp) switch
        {
            StorageProviders.PostgreSQL => new PostgresPushTokenStore(sp.GetRequiredService<PostgresDatabase>()),
            StorageProviders.MongoDB => new MongoPushTokenStore(sp.GetRequiredService<MongoDatabaseHandle>()),
            _ => new SqlitePushTokenStore(sp.GetRequiredService<SqliteDatabase>()),
        });
        // Jobs and outcomes are written once or twice per push: group-committed, so concurrent sends share commits.
        services.TryAddSingleton<IPushJobStore>(sp => new GroupCommittingPushJobStore(Provider(sp) switch
        {
            StorageProviders.PostgreSQL => new PostgresPushJobStore(sp.GetRequiredService<PostgresDatabase>()),
            StorageProviders.MongoDB => new MongoPushJobStore(sp.GetRequiredService<MongoDatabaseHandle>()),
            _ => new SqlitePushJobStore(sp.GetRequiredService<SqliteDatabase>()),
        }));
        services.TryAddSingleton<IPushOutcomeStore>(sp => new GroupCommittingPushOutcomeStore(Provider(sp) switch
        {
            StorageProviders.PostgreSQL => new PostgresPushOutcomeStore(sp.GetRequiredService<PostgresDatabase>()),
            StorageProviders.MongoDB => new MongoPushOutcomeStore(sp.GetRequiredService<MongoDatabaseHandle>()),
            _ => new SqlitePushOutcomeStore(sp.GetRequiredService<SqliteDatabase>()),
        }));
        services.TryAddSingleton<PushTokenRegistry>();
        services.TryAddSingleton(sp => PushChannelRegistry.FromOptions(Options(sp), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IBadgeCounter, ConversationBadgeCounter>();
        services.TryAddSingleton(sp => new DeviceRateLimiter(Options(sp).RateLimitPerDevice, Options(sp).RateLimitWindow));
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<PushSender>(sp, Options(sp)));
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<OfflinePushScheduler>(sp, Options(sp)));
        services.TryAddSingleton(sp => new OfflinePushSink(Options(sp)));
        services.AddSingleton<IOfflineRecipientSink>(sp => sp.GetRequiredService<OfflinePushSink>());
        if (!string.IsNullOrWhiteSpace(configuration["Cluster:Redis"]))
        {
            services.TryAddSingleton<PushClusterRelay>();
            services.AddHostedService(sp => sp.GetRequiredService<PushClusterRelay>());
            services.TryAddSingleton<IPushClusterBus>(sp => sp.GetRequiredService<PushClusterRelay>());
            services.AddSingleton<MqttIm.ImExtensions.Cluster.IDeadNodeCleanup>(sp => sp.GetRequiredService<PushClusterRelay>());
        }

        services.TryAddSingleton<IPushClusterBus, NoPushClusterBus>();
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<PushBridgeService>(sp));
        services.AddSingleton<IRpcMethod, PushRegisterRpcMethod>();
        services.AddSingleton<IRpcMethod, PushUnregisterRpcMethod>();
        services.AddSingleton<MqttIm.ImExtensions.Operations.IMetricsSnapshotContributor, MqttIm.PushBridge.Diagnostics.PushMetricsContributor>(); // the console's push charts
        return services;
    }

    private static PushOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<PushOptions>>().Value;

    private static string Provider(IServiceProvider sp) => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider;
}
