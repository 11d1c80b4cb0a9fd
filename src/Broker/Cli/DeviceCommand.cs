using System.Net.Http.Json;
using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.Broker.Hosting;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Broker.Cli;

/// <summary>
/// <c>device &lt;register|list|show|disable|enable|rotate|delete|token&gt; …</c>: the device admin API of a running broker, with the
/// admin key from the broker's configuration (or <c>--admin-key</c>) and its HTTP port (or <c>--url</c>). Prints the JSON answer.
/// </summary>
internal static class DeviceCommand
{
    public const string Usage = """
        usage: device register <deviceId> [--owner <userId|group:groupId>]...
               device list [--owner <principal>]
               device show|disable|enable|rotate|delete <deviceId>
               device token <deviceId> [--ttl <seconds>]
        options: --url http://host:port (default http://127.0.0.1:{Listen:HttpPort}), --admin-key KEY, --Section:Key=value
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Parse(args, out var positional);
        if (positional.Count == 0 || (positional[0] != "list" && positional.Count < 2))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var configuration = MqttImConfiguration.Build(args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=')).ToArray());
        var adminKey = options.GetValueOrDefault("admin-key")?.FirstOrDefault() ?? LoadAdminKey(configuration);
        var port = configuration.GetSection(BrokerListenOptions.SectionName).Get<BrokerListenOptions>()?.HttpPort ?? 8080;
        var url = options.GetValueOrDefault("url")?.FirstOrDefault() ?? $"http://127.0.0.1:{port}";
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", adminKey);

        var verb = positional[0];
        var id = positional.Count > 1 ? Uri.EscapeDataString(positional[1]) : "";
        HttpResponseMessage response;
        try
        {
            response = verb switch
            {
                "register" => await http.PostAsJsonAsync("/api/admin/devices", new { deviceId = positional[1], owners = options.GetValueOrDefault("owner") ?? [] }),
                "list" => await http.GetAsync("/api/admin/devices" + (options.GetValueOrDefault("owner") is [var owner, ..] ? "?owner=" + Uri.EscapeDataString(owner) : "")),
                "show" => await http.GetAsync($"/api/admin/devices/{id}"),
                "disable" or "enable" => await http.PostAsync($"/api/admin/devices/{id}/{verb}", null),
                "rotate" => await http.PostAsync($"/api/admin/devices/{id}/secret", null),
                "delete" => await http.DeleteAsync($"/api/admin/devices/{id}"),
                "token" => await http.PostAsJsonAsync($"/api/admin/devices/{id}/token",
                    new { ttlSeconds = options.GetValueOrDefault("ttl") is [var ttl, ..] ? long.Parse(ttl, System.Globalization.CultureInfo.InvariantCulture) : (long?)null }),
                _ => throw new ArgumentException($"unknown verb '{verb}'"),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(ex.Message + "\n" + Usage);
            return 2;
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"cannot reach the broker at {url}: {ex.Message}");
            return 3;
        }

        var body = await response.Content.ReadAsStringAsync();
        (response.IsSuccessStatusCode ? Console.Out : Console.Error).WriteLine(body.Length > 0 ? body : $"{(int)response.StatusCode} {response.ReasonPhrase}");
        return response.IsSuccessStatusCode ? 0 : 1;
    }

    private static string LoadAdminKey(IConfiguration configuration)
    {
        var auth = configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        return SigningKeys.Load(auth, storage.DataDirectory, NullLogger.Instance).AdminApiKey;
    }

    /// <summary><c>--name value</c> pairs (repeatable) and positional words; <c>--Section:Key=value</c> is configuration.</summary>
    private static Dictionary<string, List<string>> Parse(string[] args, out List<string> positional)
    {
        var options = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        positional = [];
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && !args[i].Contains('=') && i + 1 < args.Length)
            {
                var name = args[i][2..];
                if (!options.TryGetValue(name, out var values))
                {
                    options[name] = values = [];
                }

                values.Add(args[++i]);
            }
            else if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(args[i]);
            }
        }

        return options;
    }
}
