using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Http;
using Google.Apis.Util;

namespace MqttIm.PushBridge.Vendors.Fcm;

/// <summary>
/// The OAuth2 access token of a Firebase service account, from Google.Apis.Auth (an RS256-signed JWT assertion exchanged at
/// the key's <c>token_uri</c>, cached until shortly before it expires). <see cref="GetAsync"/> with renew forces a new one.
/// </summary>
internal sealed class FcmAccessToken
{
    private const string Scope = "https://www.googleapis.com/auth/firebase.messaging";
    private readonly ServiceAccountCredential _credential;

    public FcmAccessToken(string serviceAccountJson, PushOptions options, TimeProvider time)
    {
        var key = JsonNode.Parse(serviceAccountJson) as JsonObject ?? throw new InvalidOperationException("the FCM service account is not a JSON object");
        string Field(string name) => key[name]?.GetValue<string>() is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"the FCM service account has no '{name}'");
        ProjectId = key["project_id"]?.GetValue<string>() ?? "";
        var initializer = new ServiceAccountCredential.Initializer(Field("client_email"), Field("token_uri"))
        {
            Scopes = [Scope],
            Clock = new TimeProviderClock(time),
            HttpClientFactory = new VendorHttpClientFactory(options),
        }.FromPrivateKey(Field("private_key"));
        _credential = new ServiceAccountCredential(initializer);
    }

    public string ProjectId { get; }

    public async Task<string> GetAsync(bool renew, CancellationToken cancellationToken)
    {
        if (renew)
        {
            await _credential.RequestAccessTokenAsync(cancellationToken).ConfigureAwait(false);
            return _credential.Token.AccessToken;
        }

        return await _credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private sealed class TimeProviderClock(TimeProvider time) : IClock
    {
        public DateTime Now => time.GetLocalNow().DateTime;

        public DateTime UtcNow => time.GetUtcNow().UtcDateTime;
    }

    /// <summary>Google's HTTP client over the bridge's handler, so the token endpoint gets the same TLS trust as the vendors.</summary>
    private sealed class VendorHttpClientFactory(PushOptions options) : HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(CreateHttpClientArgs args) => VendorHttp.CreateHandler(options);
    }
}
