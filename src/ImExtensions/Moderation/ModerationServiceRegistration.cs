using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>Registers the <c>Moderation</c> options, the publish rate limiter and, when words are configured, the sensitive-word filter.</summary>
internal static class ModerationServiceRegistration
{
    public static IServiceCollection AddModeration(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ModerationOptions>()
            .Bind(configuration.GetSection(ModerationOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(
                o => string.IsNullOrWhiteSpace(o.SensitiveWordsFile) || File.Exists(o.SensitiveWordsFile),
                "Moderation:SensitiveWordsFile names a file that does not exist")
            .ValidateOnStart();
        services.TryAddSingleton<PublishRateLimiter>();
        services.TryAddSingleton<IUserPublishBudget, LocalUserPublishBudget>(); // cluster mode registered the Redis one first
        services.TryAddSingleton<PublishRateCheck>();
        services.TryAddSingleton<Hooks.PublishRateGate>(); // applies the check's verdict to the PUBLISH
        services.TryAddSingleton(CreateContentFilter);
        return services;
    }

    /// <summary>The automaton is built here, once; with no words the zero-cost pass-through filter is used.</summary>
    private static IContentFilter CreateContentFilter(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ModerationOptions>>().Value;
        var words = SensitiveWordList.Load(options);
        if (words.Count == 0)
        {
            return new PassThroughContentFilter();
        }

        var matcher = AhoCorasickMatcher.Build(words);
        ImLog.SensitiveWordsLoaded(services.GetRequiredService<ILoggerFactory>().CreateLogger<SensitiveWordFilter>(), matcher.WordCount, options.SensitiveWordMode.ToString());
        return new SensitiveWordFilter(matcher, options.SensitiveWordMode);
    }
}
