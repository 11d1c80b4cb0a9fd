using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MQTTnet;

namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>Registers shared subscriptions (<c>$share/…</c>): the registry, and the interceptor and hooks that connect it to MQTTnet.</summary>
internal static class SharedSubscriptionServiceRegistration
{
    public static IServiceCollection AddSharedSubscriptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SharedSubscriptionOptions>().Bind(configuration.GetSection(SharedSubscriptionOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(sp => new SharedSubscriptionRegistry<MqttApplicationMessage>(sp.GetRequiredService<IOptions<SharedSubscriptionOptions>>().Value));
        services.TryAddSingleton<Hooks.SharedSubscriptionInterceptor>();
        services.TryAddSingleton<Hooks.SharedSubscriptionHooks>();
        return services;
    }
}
