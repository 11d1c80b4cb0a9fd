using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Presence;

/// <summary>Registers presence (<c>Presence</c> options, tracker, watch policy, publisher) and the multi-device policy (<c>Devices</c>).</summary>
internal static class PresenceServiceRegistration
{
    public static IServiceCollection AddPresenceAndDevicePolicy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PresenceOptions>().Bind(configuration.GetSection(PresenceOptions.SectionName));
        services.AddOptions<DeviceOptions>().Bind(configuration.GetSection(DeviceOptions.SectionName));
        services.TryAddSingleton<PresenceTracker>();
        services.TryAddSingleton<PresenceWatchers>();
        services.TryAddSingleton<PresenceWatchPolicy>();
        services.TryAddSingleton<PresencePublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<PresencePublisher>());
        services.TryAddSingleton<DevicePlatformLimiter>();
        return services;
    }
}
