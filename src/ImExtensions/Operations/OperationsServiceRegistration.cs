using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MQTTnet.Server;
using MqttIm.ImExtensions.Hooks;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Operations;

/// <summary>What the operations console reads: granted subscriptions, connected clients, metric snapshots.</summary>
public static class OperationsServiceRegistration
{
    public static IServiceCollection AddMqttImOperations(this IServiceCollection services)
    {
        services.TryAddSingleton<ClientSubscriptions>();
        services.TryAddSingleton(sp => new MqttClientAdministration(
            sp.GetRequiredService<MqttServer>(), sp.GetRequiredService<ConnectedDeviceRegistry>(), sp.GetRequiredService<ClientSubscriptions>()));
        services.TryAddSingleton<ILocalClients>(sp => sp.GetRequiredService<MqttClientAdministration>());
        services.TryAddSingleton<ClusterConsoleQueries>(); // answers locally on a single node
        services.AddHostedService(sp => sp.GetRequiredService<ClusterConsoleQueries>());
        services.TryAddSingleton<MetricsSnapshots>();
        services.TryAddSingleton<NodeMetricsBoard>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeMetricsBoard>());
        return services;
    }
}
