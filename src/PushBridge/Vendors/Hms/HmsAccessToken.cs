using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace MqttIm.PushBridge.Vendors.Hms;

/// <summary>The Huawei OAuth2 client-credentials token, cached until a minute before <c>expires_in</c>, renewed on demand after an expiry answer.</summary>
internal sealed class HmsAccessToken(HttpClient http, string tokenUrl, string clientId, string clientSecret, TimeProvider time)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private (string Token, DateTimeOffset ExpiresAt)? _current;

    public async Task<string> GetAsync(bool renew, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!renew && _current is { } current && time.GetUtcNow() < current.ExpiresAt)
            {
                return current.Token;
            }

            using var form = new FormUrlEncodedContent([
                new("grant_type", "client_credentials"), new("client_id", clientId), new("client_secret", clientSecret)]);
            using var response = await http.PostAsync(tokenUrl, form, cancellationToken).ConfigureAwait(false);
            var json = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false) : null;
            var token = json?["access_token"]?.GetValue<string>()
                ?? throw new HttpRequestException($"HMS token endpoint answered {(int)response.StatusCode} without an access_token", null, response.StatusCode);
            var lifetime = TimeSpan.FromSeconds(json["expires_in"]?.GetValue<int>() ?? 3600);
            _current = (token, time.GetUtcNow() + lifetime - TimeSpan.FromSeconds(Math.Min(60, lifetime.TotalSeconds / 2)));
            return token;
        }
        finally
        {
            _lock.Release();
        }
    }
}
