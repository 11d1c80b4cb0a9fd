using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MqttIm.Broker.Hosting;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Broker.Cli;

/// <summary><c>token &lt;userId&gt; [--ttl &lt;duration&gt;]</c>: prints an access token signed with the broker's keys (same configuration as the broker).</summary>
internal static class TokenCommand
{
    public const string Usage = "usage: token <userId> [--ttl <duration: 90s, 30m, 12h, 7d or hh:mm:ss>] [--Section:Key=value …, as for the broker]";

    public static int Run(string userId, string? ttlText, IConfiguration configuration)
    {
        TimeSpan? ttl = null;
        if (ttlText is not null)
        {
            if (ParseDuration(ttlText) is not { } parsed)
            {
                Console.Error.WriteLine("invalid --ttl. " + Usage);
                return 2;
            }

            ttl = parsed;
        }

        if (!UserIds.IsValid(userId))
        {
            Console.Error.WriteLine($"invalid user id '{userId}': {UserIds.Rule}");
            return 2;
        }

        AuthOptions auth;
        StorageOptions storage;
        try
        {
            auth = ValidatedOptions.Bind<AuthOptions>(configuration, AuthOptions.SectionName);
            storage = ValidatedOptions.Bind<StorageOptions>(configuration, StorageOptions.SectionName);
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"configuration is invalid: {string.Join("; ", ex.Failures)}");
            return 2;
        }

        if (ttl > auth.MaxTokenLifetime)
        {
            Console.Error.WriteLine($"--ttl {ttlText} is longer than Auth:MaxTokenLifetime ({auth.MaxTokenLifetime}). " + Usage);
            return 2;
        }

        var keys = SigningKeys.Load(auth, storage.DataDirectory, NullLogger.Instance);
        Console.WriteLine(new JwtTokenIssuer(keys, auth).Issue(userId, ttl).Token);
        return 0;
    }

    internal static TimeSpan? ParseDuration(string text)
    {
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0
            && amount < TimeSpan.MaxValue.TotalSeconds / (24 * 3600))
        {
            TimeSpan? unit = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (unit is not null)
            {
                return unit;
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero ? span : null;
    }
}
