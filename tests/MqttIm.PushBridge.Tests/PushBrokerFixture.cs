using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MqttIm.Testing;

namespace MqttIm.PushBridge.Tests;

/// <summary>A fake vendor server and the real broker process configured to push through it (APNs, FCM and HMS apps).</summary>
public sealed class PushBrokerFixture : IAsyncLifetime
{
    public static readonly TimeSpan MergeWindow = TimeSpan.FromSeconds(4);

    public FakeVendorServer Vendors { get; private set; } = null!;

    public VendorSetup Setup { get; private set; } = null!;

    public BrokerProcess Broker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Vendors = await FakeVendorServer.StartAsync();
        Setup = new VendorSetup(Vendors);
        Broker = await StartBrokerAsync(Setup);
    }

    public static Task<BrokerProcess> StartBrokerAsync(VendorSetup setup) =>
        BrokerProcess.StartAsync([.. setup.BrokerArgs(), $"--Push:MergeWindow={MergeWindow}", "--Push:RetryBaseDelay=00:00:00.200"]);

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        Setup.Dispose();
        await Vendors.DisposeAsync();
    }
}

/// <summary>The push HTTP API as a user (bearer token) and as the operator.</summary>
internal static class PushApi
{
    public static async Task RegisterAsync(this BrokerProcess broker, string userId, string vendor, string appId, string token, string environment = "sandbox",
        string deviceId = "phone", bool privacy = false)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", broker.Token(userId));
        var response = await http.PostAsJsonAsync($"/api/users/{userId}/push/tokens", new { vendor, appId, token, environment, deviceId, privacy, locale = "en-US" });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public static async Task<JsonElement> AdminGetAsync(this BrokerProcess broker, string path)
    {
        using var http = broker.Http();
        var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} → {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<List<string>> OutcomesAsync(this BrokerProcess broker, string userId) =>
        (await broker.AdminGetAsync($"/api/admin/push/outcomes?userId={userId}")).EnumerateArray().Select(o => o.GetProperty("result").GetString()!).ToList();

    /// <summary>Polls (bounded) until <paramref name="condition"/> holds for the admin answer at <paramref name="path"/>.</summary>
    public static async Task<JsonElement> WaitForAdminAsync(this BrokerProcess broker, string path, Func<JsonElement, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        JsonElement last;
        do
        {
            last = await broker.AdminGetAsync(path);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"GET {path} never met the condition; last answer: {last}");
    }
}
