using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MqttIm.ImExtensions.Wills;

/// <summary>Registers the will scheduler and the publisher it injects wills with.</summary>
internal static class WillServiceRegistration
{
    public static IServiceCollection AddWills(this IServiceCollection services)
    {
        services.TryAddSingleton<WillDelayScheduler>();
        services.TryAddSingleton<IWillPublisher, Hooks.MqttWillPublisher>();
        return services;
    }
}
