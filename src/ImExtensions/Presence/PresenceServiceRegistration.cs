using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Presence;

/// <summary>Registers presence (<c>Presence</c> options, tracker, watch policy, publisher) and the multi-device policy (<c>Devices</c>).</summary>
internal static class PresenceServiceRegistration
{
    public static IServiceCollection AddPresenceAndDevicePolicy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PresenceOptions>().Bind(configuration.GetSection(PresenceOptions.SectionName));
        services.AddOptions<DeviceOptions>().Bind(configuration.GetSection(DeviceOptions.SectionName));
        services.TryAddSingleton(sp => new PresenceTracker(sp.GetRequiredService<IOptions<MemoryOptions>>().Value.OfflinePresenceEntries));
        services.TryAddSingleton<IConversationWriterStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider switch
        {
            StorageProviders.PostgreSQL => new PostgresConversationWriterStore(sp.GetRequiredService<PostgresDatabase>()),
            StorageProviders.MongoDB => new MongoConversationWriterStore(sp.GetRequiredService<MongoDatabaseHandle>()),
            _ => new SqliteConversationWriterStore(sp.GetRequiredService<SqliteDatabase>()),
        });
        services.TryAddSingleton(sp => new UserGroupsIndex(
            sp.GetRequiredService<IGroupStore>(),
            sp.GetRequiredService<GroupDirectory>(),
            new BoundedLruCache<string, string[]>("presence_user_groups", sp.GetRequiredService<IOptions<MemoryOptions>>().Value.PresenceRelations, StringComparer.Ordinal)));
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<PresenceRelations>(sp,
            new BoundedLruCache<string, string[]>("presence_conversation_writers", sp.GetRequiredService<IOptions<MemoryOptions>>().Value.PresenceRelations, StringComparer.Ordinal)));
        services.TryAddSingleton<ICommittedMessageObserver>(sp => sp.GetRequiredService<PresenceRelations>());
        services.TryAddSingleton<PresenceWatchers>();
        services.TryAddSingleton<PresenceWatchPolicy>();
        services.TryAddSingleton<PresencePublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<PresencePublisher>());
        services.TryAddSingleton<ISessionPresence, SessionPresence>();
        services.TryAddSingleton<IPresenceLookup, LocalPresenceLookup>(); // cluster mode registered its own first
        services.TryAddSingleton<DevicePlatformLimiter>();
        services.TryAddSingleton<ConnectOrder>();
        return services;
    }
}
