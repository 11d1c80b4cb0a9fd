using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Broker.Cli;

/// <summary><c>token &lt;userId&gt; [--ttl &lt;duration&gt;]</c>: prints an access token signed with the broker's keys (same configuration as the broker).</summary>
internal static class TokenCommand
{
    public const string Usage = "usage: token <userId> [--ttl <duration: 90s, 30m, 12h, 7d or hh:mm:ss>] [--Storage:DataDirectory=…]";

    public static int Run(string[] args)
    {
        var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        var ttlIndex = Array.IndexOf(args, "--ttl");
        if (ttlIndex >= 0 && ttlIndex + 1 < args.Length)
        {
            positional.Remove(args[ttlIndex + 1]);
        }

        if (positional.Count != 1)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        TimeSpan? ttl = null;
        if (ttlIndex >= 0)
        {
            if (ttlIndex + 1 >= args.Length || ParseDuration(args[ttlIndex + 1]) is not { } parsed)
            {
                Console.Error.WriteLine("invalid --ttl. " + Usage);
                return 2;
            }

            ttl = parsed;
        }

        var userId = positional[0];
        if (!UserIds.IsValid(userId))
        {
            Console.Error.WriteLine($"invalid user id '{userId}': {UserIds.Rule}");
            return 2;
        }

        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args.Where(a => a.Contains('=')).ToArray())
            .Build();
        var auth = configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        var keys = SigningKeys.Load(auth, storage.DataDirectory, NullLogger.Instance);
        Console.WriteLine(new JwtTokenIssuer(keys, auth).Issue(userId, ttl).Token);
        return 0;
    }

    internal static TimeSpan? ParseDuration(string text)
    {
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0)
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
