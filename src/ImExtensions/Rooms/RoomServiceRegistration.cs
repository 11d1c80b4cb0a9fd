using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Rooms.Store;
using MqttIm.ImExtensions.Rpc;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Mongo;
using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>Registers live rooms (<c>Rooms</c> options): store by <c>Storage:Provider</c>, bus in-process or over Redis, the frame pump.</summary>
internal static class RoomServiceRegistration
{
    public static IServiceCollection AddRooms(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RoomOptions>().Bind(configuration.GetSection(RoomOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<IRoomStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider switch
        {
            StorageProviders.PostgreSQL => new PostgresRoomStore(sp.GetRequiredService<PostgresDatabase>()),
            StorageProviders.MongoDB => new MongoRoomStore(sp.GetRequiredService<MongoDatabaseHandle>()),
            _ => new SqliteRoomStore(sp.GetRequiredService<SqliteDatabase>()),
        });
        services.TryAddSingleton<RoomDirectory>();
        services.TryAddSingleton<MqttIm.ImExtensions.Delivery.RawPacketOutlets>();
        services.TryAddSingleton<RoomCatalog>();
        services.TryAddSingleton<RoomGrants>();
        services.TryAddSingleton<RoomAccess>();
        services.TryAddSingleton<RoomLikeCounter>();
        services.TryAddSingleton<RoomSender>();
        services.TryAddSingleton<RoomSendHandler>();
        services.TryAddSingleton<RoomJoinHandler>();
        services.TryAddSingleton<RoomAdmin>();
        services.TryAddSingleton<RoomFrameBuilder>();
        var clustered = configuration.GetSection(ClusterOptions.SectionName).Get<ClusterOptions>()?.Enabled ?? false;
        if (clustered)
        {
            services.TryAddSingleton<RedisRoomBus>();
            services.TryAddSingleton<IRoomBus>(sp => sp.GetRequiredService<RedisRoomBus>());
            services.AddHostedService(sp => sp.GetRequiredService<RedisRoomBus>());
        }
        else
        {
            services.TryAddSingleton<IRoomBus, InProcessRoomBus>();
        }

        services.TryAddSingleton<RoomFramePump>();
        services.AddHostedService(sp => sp.GetRequiredService<RoomFramePump>());
        services.AddSingleton<IRpcMethod, RoomReplayRpcMethod>();
        return services;
    }
}
