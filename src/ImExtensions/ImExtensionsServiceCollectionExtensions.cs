using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Notifications;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Hooks;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Moderation;
using MqttIm.ImExtensions.Rooms;
using MqttIm.ImExtensions.Routing;
using MqttIm.ImExtensions.Rpc;
using MqttIm.ImExtensions.Storage.Offload;
using MqttIm.ImExtensions.Sequencing;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Embedded;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Operations;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the IM domain: auth, ACL, chat, RPC, stores and delivery, on the embedded backends by default.</summary>
public static class ImExtensionsServiceCollectionExtensions
{
    public static IServiceCollection AddMqttImExtensions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.SectionName)).ValidateDataAnnotations()
            .Validate(a => a.DefaultTokenLifetime <= a.MaxTokenLifetime, "Auth:DefaultTokenLifetime must not exceed Auth:MaxTokenLifetime").ValidateOnStart();
        services.AddOptions<AclOptions>().Bind(configuration.GetSection(AclOptions.SectionName));
        services.AddOptions<GroupOptions>().Bind(configuration.GetSection(GroupOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ChatOptions>().Bind(configuration.GetSection(ChatOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton(sp => SigningKeys.Load(
            sp.GetRequiredService<IOptions<AuthOptions>>().Value,
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.DataDirectory,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<SigningKeys>()));
        services.TryAddSingleton(sp => new JwtTokenIssuer(sp.GetRequiredService<SigningKeys>(), sp.GetRequiredService<IOptions<AuthOptions>>().Value));
        services.TryAddSingleton(sp => new JwtTokenValidator(sp.GetRequiredService<SigningKeys>(), sp.GetRequiredService<IOptions<AuthOptions>>().Value));
        services.TryAddSingleton(sp => new TopicAclEvaluator(sp.GetRequiredService<IOptions<AclOptions>>().Value,
            new AnonymousTopicAcl(sp.GetRequiredService<IOptions<AuthOptions>>().Value.Anonymous)));
        services.TryAddSingleton<ConnectionValidator>();

        // Embedded backends; a cluster registration replaces the stores, allocator and router before calling this method.
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new SqliteDatabase(Path.Combine(options.DataDirectory, "mqttim.db"), options.Synchronous == "Full", options.SqliteBusyTimeout);
        });
        // The shared cluster databases, created only when a store of that provider is resolved.
        services.TryAddSingleton(sp => new PostgresDatabase(sp.GetRequiredService<IOptions<StorageOptions>>().Value.PostgreSQL.ConnectionString));
        services.TryAddSingleton(sp =>
        {
            var mongo = sp.GetRequiredService<IOptions<StorageOptions>>().Value.MongoDB;
            return new MongoDatabaseHandle(mongo.ConnectionString, mongo.Database);
        });
        services.AddOptions<ClusterOptions>().Bind(configuration.GetSection(ClusterOptions.SectionName));
        services.TryAddSingleton(sp => new ClusterNode(sp.GetRequiredService<IOptions<ClusterOptions>>().Value));
        services.TryAddSingleton(sp => new RedisKeys(sp.GetRequiredService<IOptions<ClusterOptions>>().Value.KeyPrefix));
        // One multiplexer per process (StackExchange.Redis is built to be shared); resolved only in cluster mode.
        services.TryAddSingleton<StackExchange.Redis.IConnectionMultiplexer>(sp =>
        {
            var cluster = sp.GetRequiredService<IOptions<ClusterOptions>>().Value;
            if (!cluster.Enabled)
            {
                throw new InvalidOperationException("Cluster:Redis is not configured: this node runs single-node and has no Redis.");
            }

            return StackExchange.Redis.ConnectionMultiplexer.Connect(cluster.Redis);
        });
        services.AddDurableStores(configuration); // PostgreSQL or MongoDB when configured; the SQLite lines below fill in otherwise
        services.TryAddSingleton<IMessageStore, EmbeddedMessageStore>();
        services.TryAddSingleton<IConversationStore, SqliteConversationStore>();
        services.TryAddSingleton<IGroupStore, SqliteGroupStore>();
        services.AddMqttImCluster(configuration); // Redis allocator and router when Cluster:Redis is set; the in-process ones below otherwise
        services.TryAddSingleton<ISeqAllocator>(sp => new InMemorySeqAllocator(sp.GetRequiredService<IMessageStore>().GetMaxSeqAsync, Math.Max(
            sp.GetRequiredService<IOptions<MqttIm.ImExtensions.Memory.MemoryOptions>>().Value.SeqCounters,
            2 * sp.GetRequiredService<IOptions<StorageOptions>>().Value.MaxCommitBatch))); // a batch never evicts its own counters
        services.TryAddSingleton<IOnlineRouter, InProcessOnlineRouter>();
        services.TryAddSingleton<IOfflineRecipientSink, NoOfflineRecipientSink>(); // the push bridge registers the real one first

        services.AddStoreWorkPool(configuration); // store I/O of RPCs, group loads, presence checks off the socket threads
        services.TryAddSingleton<ConnectedDeviceRegistry>();
        services.AddSessionPolicy(configuration);
        MqttIm.ImExtensions.BrokerState.BrokerStateServiceRegistration.AddBrokerState(services); // retained messages and persistent sessions across restarts
        MqttIm.ImExtensions.Wills.WillServiceRegistration.AddWills(services); // will delay and will semantics MQTTnet 5.2 lacks
        services.AddPresenceAndDevicePolicy(configuration);
        services.TryAddSingleton<DeviceLifecycle>();
        services.TryAddSingleton<DirectSessionPublisher>();
        services.TryAddSingleton<ClientDisconnector>();
        services.TryAddSingleton<IConnectionCloser>(sp => sp.GetRequiredService<ClientDisconnector>());
        services.TryAddSingleton(sp => new GroupDirectory(sp.GetRequiredService<IGroupStore>(), sp.GetRequiredService<IOptions<MqttIm.ImExtensions.Memory.MemoryOptions>>().Value.GroupSnapshots,
            sp.GetRequiredService<MqttIm.ImExtensions.Storage.Offload.StoreWorkPool>()));
        services.TryAddSingleton<GroupService>();
        services.TryAddSingleton<LargeGroupHints>();
        services.AddHostedService(sp => sp.GetRequiredService<LargeGroupHints>());
        services.TryAddSingleton<NotificationService>();
        services.TryAddSingleton<IGroupFanout, GroupFanout>();
        services.TryAddSingleton<ChatFanout>();
        services.TryAddSingleton<DeliveryLoop>();
        services.AddHostedService(sp => sp.GetRequiredService<DeliveryLoop>());
        services.TryAddSingleton<MessageCommitQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<MessageCommitQueue>());
        services.TryAddSingleton<UplinkResponder>();
        services.AddRooms(configuration);
        services.AddModeration(configuration); // the sensitive-word filter, when configured, replaces the pass-through below
        services.TryAddSingleton<IContentFilter, PassThroughContentFilter>();
        services.TryAddSingleton<SendRequestReader>();
        services.TryAddSingleton<IGroupSendPolicy, GroupSendPolicy>();
        services.TryAddSingleton<ChatSendHandler>();
        services.AddSingleton<IRpcMethod, SyncRpcMethod>();
        services.AddSingleton<IRpcMethod, HistoryRpcMethod>();
        services.AddSingleton<IRpcMethod, ReadRpcMethod>();
        services.AddSingleton<IRpcMethod, ReadCountsRpcMethod>();
        services.AddSingleton<IRpcMethod, ConversationsRpcMethod>();
        services.AddSingleton<IRpcMethod, ConversationSettingsRpcMethod>();
        services.AddSingleton<IRpcMethod, GroupRpcMethod>();
        services.AddSingleton<IRpcMethod>(sp => ActivatorUtilities.CreateInstance<ChangeMessageRpcMethod>(sp, MessageKind.Recall));
        services.AddSingleton<IRpcMethod>(sp => ActivatorUtilities.CreateInstance<ChangeMessageRpcMethod>(sp, MessageKind.Edit));
        services.TryAddSingleton<RpcDispatcher>();
        MqttIm.ImExtensions.SharedSubscriptions.SharedSubscriptionServiceRegistration.AddSharedSubscriptions(services, configuration); // $share/ groups
        services.TryAddSingleton<SubscriptionInterceptor>();
        services.TryAddSingleton<PublishInterceptor>();
        services.AddMqttImOperations(); // the console's views: granted subscriptions, connected clients
        services.TryAddSingleton<MqttServerHooks>();
        services.TryAddSingleton<IotHub>();
        services.AddIotHub(configuration);
        return services;
    }
}
