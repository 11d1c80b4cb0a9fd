using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Devices.Storage.Mongo;
using MqttIm.ImExtensions.Devices.Storage.Postgres;
using MqttIm.ImExtensions.Devices.Storage.Sqlite;
using MqttIm.ImExtensions.Storage;
using Quartz;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the IoT device hub: registry, credentials, telemetry, commands and schedules.</summary>
public static class IotServiceRegistration
{
    public static IServiceCollection AddIotHub(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IotOptions>().Bind(configuration.GetSection(IotOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        var provider = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>()?.Provider ?? StorageProviders.Sqlite;
        switch (provider)
        {
            case StorageProviders.PostgreSQL:
                services.TryAddSingleton<IDeviceStore, PostgresDeviceStore>();
                services.TryAddSingleton<ITelemetryStore, PostgresTelemetryStore>();
                services.TryAddSingleton<ICommandStore, PostgresCommandStore>();
                services.TryAddSingleton<IScheduleStore, PostgresScheduleStore>();
                break;
            case StorageProviders.MongoDB:
                services.TryAddSingleton<IDeviceStore, MongoDeviceStore>();
                services.TryAddSingleton<ITelemetryStore, MongoTelemetryStore>();
                services.TryAddSingleton<ICommandStore, MongoCommandStore>();
                services.TryAddSingleton<IScheduleStore, MongoScheduleStore>();
                break;
            default:
                services.TryAddSingleton<IDeviceStore, SqliteDeviceStore>();
                services.TryAddSingleton<ITelemetryStore, SqliteTelemetryStore>();
                services.TryAddSingleton<ICommandStore, SqliteCommandStore>();
                services.TryAddSingleton<IScheduleStore, SqliteScheduleStore>();
                break;
        }

        services.TryAddSingleton(sp => new DeviceTokens(sp.GetRequiredService<MqttIm.ImExtensions.Auth.SigningKeys>(),
            sp.GetRequiredService<IOptions<MqttIm.ImExtensions.Auth.AuthOptions>>().Value));
        services.TryAddSingleton<IotConnections>();
        services.TryAddSingleton<DeviceAuthenticator>();
        services.TryAddSingleton<DeviceKicker>();
        services.TryAddSingleton(sp => new DeviceConnectRecheck(sp.GetRequiredService<IDeviceStore>(), sp.GetRequiredService<IotConnections>(),
            sp.GetService<MqttIm.ImExtensions.Storage.Offload.StoreWorkPool>()));
        services.TryAddSingleton<DeviceRegistry>();
        services.TryAddSingleton<DeviceAccess>();
        services.TryAddSingleton(sp => new DeviceWatchGate(sp.GetRequiredService<DeviceAccess>(), sp.GetService<MqttIm.ImExtensions.Storage.Offload.StoreWorkPool>()));
        services.TryAddSingleton<DeviceWatchers>();
        services.TryAddSingleton<IIotClusterBus, LocalIotBus>(); // cluster mode registers the Redis bus first
        services.TryAddSingleton<DevicePresence>();
        services.TryAddSingleton<CommandEvents>();
        services.TryAddSingleton<TelemetryIds>();
        services.TryAddSingleton<TelemetryCommitQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<TelemetryCommitQueue>());
        services.AddHostedService<TelemetryRetention>();
        services.TryAddSingleton<TelemetryIngest>();
        services.TryAddSingleton<CommandCommitQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandCommitQueue>()); // before the sweeper: stops after it
        services.TryAddSingleton<CommandRoutes>();
        services.TryAddSingleton<CommandWaiters>();
        services.TryAddSingleton<CommandOutcomes>();
        services.TryAddSingleton<CommandDispatcher>();
        services.TryAddSingleton<CommandService>();
        services.TryAddSingleton<CommandReplyHandler>();
        services.TryAddSingleton<CommandSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandSweeper>());
        services.TryAddSingleton<DeviceSubscriptions>();
        services.TryAddSingleton<CommandRequests>();
        services.TryAddSingleton<DeviceAlerts>();
        services.TryAddSingleton<DeviceUplinks>();
        services.AddSingleton<MqttIm.ImExtensions.Rpc.IRpcMethod, DeviceRpcMethod>();
        services.AddQuartz();
        services.AddQuartzHostedService(quartz => quartz.WaitForJobsToComplete = false);
        services.TryAddSingleton<CommandScheduler>();
        services.AddTransient<CommandScheduleJob>();
        services.AddHostedService<ScheduleLoader>();
        return services;
    }
}
