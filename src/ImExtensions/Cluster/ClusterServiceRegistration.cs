using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Devices.Cluster;
using MqttIm.ImExtensions.Sequencing;
using MqttIm.ImExtensions.Storage;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>Cluster mode: with <c>Cluster:Redis</c> set, seqs, the device directory, cross-node delivery, node registry and cache invalidation run on Redis.</summary>
public static class ClusterServiceRegistration
{
    /// <summary>Registers the Redis-backed allocator and router (before the embedded defaults, which then stay out) when <c>Cluster:Redis</c> is set; otherwise nothing.</summary>
    public static IServiceCollection AddMqttImCluster(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(ClusterOptions.SectionName);
        services.AddOptions<ClusterOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (string.IsNullOrWhiteSpace(section[nameof(ClusterOptions.Redis)]))
        {
            return services;
        }

        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ClusterOptions>>().Value;
            return new ClusterNodeRegistry(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<RedisKeys>(),
                sp.GetRequiredService<ClusterNode>(), options.NodeTimeout, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ClusterOptions>>().Value;
            // Entries outlive a few missed heartbeats; a dead node's are also removed as soon as it is declared dead.
            return new RedisDeviceDirectory(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<RedisKeys>(), options.NodeTimeout * 3);
        });
        services.TryAddSingleton<RemoteTakeover>();
        services.TryAddSingleton<RedisOnlineRouter>();
        services.TryAddSingleton<MqttIm.ImExtensions.Sessions.IClientIdClaims, RedisClientIdClaims>();
        services.TryAddSingleton<ClusterPresence>();
        services.TryAddSingleton<RedisPresenceBoard>();
        services.TryAddSingleton<MqttIm.ImExtensions.Sessions.ISessionPresence, ClusterSessionPresence>();
        services.TryAddSingleton<MqttIm.ImExtensions.Presence.IPresenceLookup, ClusterPresenceLookup>();
        services.TryAddSingleton<ClusterPresenceFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterPresenceFeed>());
        services.AddSingleton<IDeadNodeCleanup>(sp => sp.GetRequiredService<ClusterPresenceFeed>());
        services.TryAddSingleton<MqttIm.ImExtensions.Moderation.IUserPublishBudget, RedisUserPublishBudget>();
        services.TryAddSingleton<IOnlineRouter>(sp => sp.GetRequiredService<RedisOnlineRouter>());
        services.TryAddSingleton<ISeqAllocator>(sp => new RedisSeqAllocator(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<RedisKeys>(),
            sp.GetRequiredService<IMessageStore>().GetMaxSeqAsync, sp.GetRequiredService<ILoggerFactory>().CreateLogger<RedisSeqAllocator>()));
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<ClusterHeartbeat>(sp, sp.GetRequiredService<IOptions<ClusterOptions>>().Value));
        services.AddHostedService(sp => sp.GetRequiredService<ClusterHeartbeat>());
        services.AddHostedService<ClusterCacheInvalidation>();
        services.TryAddSingleton<RedisIotBus>();
        services.TryAddSingleton<MqttIm.ImExtensions.Devices.IIotClusterBus>(sp => sp.GetRequiredService<RedisIotBus>());
        services.TryAddSingleton<IotClusterRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<IotClusterRelay>());
        services.AddSingleton<IDeadNodeCleanup>(sp => sp.GetRequiredService<IotClusterRelay>());
        return services;
    }
}
