using System.Net.Http.Json;
using System.Text.Json;

namespace MqttIm.Testing;

/// <summary>The broker's admin HTTP API, with the fixture's admin key.</summary>
public static class AdminApi
{
    public static HttpClient Http(this BrokerProcess broker)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", broker.AdminKey);
        return http;
    }

    /// <summary>POSTs JSON and returns the parsed JSON answer; fails with the problem details on a non-success status.</summary>
    public static async Task<JsonElement> AdminPostAsync(this BrokerProcess broker, string path, object body)
    {
        using var http = broker.Http();
        var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST {path} → {(int)response.StatusCode}: {text}");
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
