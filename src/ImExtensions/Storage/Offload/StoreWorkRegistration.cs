using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MqttIm.ImExtensions.Storage.Offload;

/// <summary>Registers <see cref="StoreWorkPool"/> with its <c>StoreWork</c> options.</summary>
public static class StoreWorkRegistration
{
    public static IServiceCollection AddStoreWorkPool(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StoreWorkOptions>().Bind(configuration.GetSection(StoreWorkOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<StoreWorkPool>();
        return services;
    }
}
