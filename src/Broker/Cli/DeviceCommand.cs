using System.CommandLine;
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
    /// <summary>One call of the device admin API, as a sub-verb asks for it.</summary>
    internal sealed record AdminRequest(HttpMethod Method, string Path, object? Body);

    public static Command Create()
    {
        var url = new Option<string?>("--url") { Description = "the broker's HTTP address (default http://127.0.0.1:{Listen:HttpPort})", Recursive = true };
        var adminKey = new Option<string?>("--admin-key") { Description = "the admin key (default: the broker's, from its configuration and data directory)", Recursive = true };
        var device = new Command("device", "Manage IoT devices on a running broker (its HTTP admin API)") { url, adminKey };
        device.TreatUnmatchedTokensAsErrors = false;

        var deviceId = new Argument<string>("deviceId") { Description = "the device id (its MQTT client id and username)" };
        var owners = new Option<string[]>("--owner") { Description = "a user id or group:groupId granted the device (repeatable)", AllowMultipleArgumentsPerToken = false };
        var listOwner = new Option<string?>("--owner") { Description = "only devices granted to this principal" };
        var ttl = new Option<long?>("--ttl") { Description = "token lifetime in seconds (default and maximum from Auth:*)" };

        var register = new Command("register", "Register a device; prints its secret once") { deviceId, owners };
        Bind(register, url, adminKey, parsed => new AdminRequest(HttpMethod.Post, "/api/admin/devices",
            new { deviceId = parsed.GetValue(deviceId), owners = parsed.GetValue(owners) ?? [] }));
        device.Subcommands.Add(register);

        var list = new Command("list", "List devices") { listOwner };
        Bind(list, url, adminKey, parsed => new AdminRequest(HttpMethod.Get,
            "/api/admin/devices" + (parsed.GetValue(listOwner) is { } owner ? "?owner=" + Uri.EscapeDataString(owner) : ""), null));
        device.Subcommands.Add(list);

        foreach (var (verb, description, method, suffix) in new[]
        {
            ("show", "Show a device", HttpMethod.Get, ""),
            ("disable", "Disable a device (refused at connect from then on)", HttpMethod.Post, "/disable"),
            ("enable", "Enable a disabled device", HttpMethod.Post, "/enable"),
            ("rotate", "Rotate a device's secret; prints the new one once", HttpMethod.Post, "/secret"),
            ("delete", "Delete a device", HttpMethod.Delete, ""),
        })
        {
            var command = new Command(verb, description) { deviceId };
            Bind(command, url, adminKey, parsed => new AdminRequest(method, DevicePath(parsed.GetValue(deviceId)!) + suffix, null));
            device.Subcommands.Add(command);
        }

        var token = new Command("token", "Mint a device access token") { deviceId, ttl };
        Bind(token, url, adminKey, parsed => new AdminRequest(HttpMethod.Post, DevicePath(parsed.GetValue(deviceId)!) + "/token",
            new { ttlSeconds = parsed.GetValue(ttl) }));
        device.Subcommands.Add(token);
        return device;
    }

    private static string DevicePath(string deviceId) => "/api/admin/devices/" + Uri.EscapeDataString(deviceId);

    private static void Bind(Command command, Option<string?> url, Option<string?> adminKey, Func<ParseResult, AdminRequest> request)
    {
        // Unknown tokens (--Section:Key=value) are configuration, as for the broker itself.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((parsed, cancellation) =>
        {
            var configuration = MqttImConfiguration.Build(parsed.UnmatchedTokens);
            var port = configuration.GetSection(BrokerListenOptions.SectionName).Get<BrokerListenOptions>()?.HttpPort ?? 8080;
            return SendAsync(request(parsed), parsed.GetValue(url) ?? $"http://127.0.0.1:{port}",
                parsed.GetValue(adminKey) ?? LoadAdminKey(configuration), cancellation);
        });
    }

    private static async Task<int> SendAsync(AdminRequest request, string url, string adminKey, CancellationToken cancellation)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", adminKey);
        using var message = new HttpRequestMessage(request.Method, request.Path)
        {
            Content = request.Body is null ? null : JsonContent.Create(request.Body),
        };
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(message, cancellation);
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"cannot reach the broker at {url}: {ex.Message}");
            return 3;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellation);
            (response.IsSuccessStatusCode ? Console.Out : Console.Error).WriteLine(body.Length > 0 ? body : $"{(int)response.StatusCode} {response.ReasonPhrase}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
    }

    private static string LoadAdminKey(IConfiguration configuration)
    {
        var auth = configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        return SigningKeys.Load(auth, storage.DataDirectory, NullLogger.Instance).AdminApiKey;
    }
}
