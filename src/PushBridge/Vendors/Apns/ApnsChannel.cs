using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Vendors.Apns;

/// <summary>
/// APNs over HTTP/2: <c>POST /3/device/{token}</c> with the provider token and the <c>apns-*</c> headers, one stream per
/// token, multiplexed over <see cref="ApnsAppOptions.Connections"/> connections per environment.
/// </summary>
internal sealed class ApnsChannel : IPushChannel, IDisposable
{
    private readonly ApnsAppOptions _app;
    private readonly ApnsProviderToken _providerToken;
    private readonly HttpMessageInvoker[] _production;
    private readonly HttpMessageInvoker[] _sandbox;
    private readonly TimeProvider _time;
    private int _next;

    public ApnsChannel(ApnsAppOptions app, PushOptions options, TimeProvider time)
    {
        _app = app;
        _time = time;
        _providerToken = new ApnsProviderToken(SecretSource.Read(app.KeyPath, app.KeyEnvironmentVariable, $"APNs key of {app.BundleId}"), app.TeamId, app.KeyId, app.TokenLifetime, time);
        _production = Enumerable.Range(0, app.Connections).Select(_ => new HttpMessageInvoker(VendorHttp.CreateHandler(options))).ToArray();
        _sandbox = Enumerable.Range(0, app.Connections).Select(_ => new HttpMessageInvoker(VendorHttp.CreateHandler(options))).ToArray();
    }

    public string Vendor => PushVendors.Apns;

    public string AppId => _app.BundleId;

    public async Task<IReadOnlyList<VendorReply>> SendAsync(PushNotification notification, IReadOnlyList<VendorTarget> targets, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(Payload(notification));
        return await Task.WhenAll(targets.Select(t => SendOneAsync(notification, body, t, cancellationToken))).ConfigureAwait(false);
    }

    private async Task<VendorReply> SendOneAsync(PushNotification notification, byte[] body, VendorTarget target, CancellationToken cancellationToken)
    {
        var sandbox = target.Environment == "sandbox";
        var pool = sandbox ? _sandbox : _production;
        var invoker = pool[(int)((uint)Interlocked.Increment(ref _next) % pool.Length)];
        var baseUrl = (sandbox ? _app.SandboxBaseUrl : _app.BaseUrl).TrimEnd('/');
        var reply = await PostAsync(invoker, baseUrl, notification, body, target.Token, renewToken: false, cancellationToken).ConfigureAwait(false);
        if (reply.Detail is "ExpiredProviderToken" or "InvalidProviderToken" && reply.Kind == VendorReplyKind.Rejected)
        {
            reply = await PostAsync(invoker, baseUrl, notification, body, target.Token, renewToken: true, cancellationToken).ConfigureAwait(false);
        }

        return reply;
    }

    private async Task<VendorReply> PostAsync(HttpMessageInvoker invoker, string baseUrl, PushNotification notification, byte[] body, string token, bool renewToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/3/device/{Uri.EscapeDataString(token)}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Authorization = new("bearer", _providerToken.Get(renewToken));
        request.Headers.TryAddWithoutValidation("apns-topic", _app.BundleId);
        request.Headers.TryAddWithoutValidation("apns-push-type", "alert");
        request.Headers.TryAddWithoutValidation("apns-priority", notification.Priority <= 1 ? "10" : "5");
        request.Headers.TryAddWithoutValidation("apns-expiration", notification.Expiration.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (notification.CollapseId.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("apns-collapse-id", notification.CollapseId);
        }

        using var response = await invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return VendorReply.Ok;
        }

        var reason = await ReasonAsync(response, cancellationToken).ConfigureAwait(false);
        return (response.StatusCode, reason) switch
        {
            (HttpStatusCode.Gone, _) or (HttpStatusCode.BadRequest, "BadDeviceToken" or "Unregistered" or "DeviceTokenNotForTopic") =>
                new VendorReply(VendorReplyKind.TokenGone, reason),
            var (status, _) when VendorHttp.IsRetryable(status) => new VendorReply(VendorReplyKind.Retryable, $"{(int)status} {reason}", VendorHttp.RetryAfterOf(response, _time)),
            _ => new VendorReply(VendorReplyKind.Rejected, reason.Length > 0 ? reason : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
    }

    private static async Task<string> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var json = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false);
            return json?["reason"]?.GetValue<string>() ?? "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    private static JsonObject Payload(PushNotification notification)
    {
        var aps = new JsonObject
        {
            ["alert"] = new JsonObject { ["title"] = notification.Title, ["body"] = notification.Body },
            ["badge"] = notification.Badge,
            ["sound"] = "default",
        };
        if (notification.Data.TryGetValue("conversationId", out var thread))
        {
            aps["thread-id"] = thread;
        }

        var payload = new JsonObject { ["aps"] = aps };
        foreach (var (key, value) in notification.Data)
        {
            payload[key] = value;
        }

        return payload;
    }

    public void Dispose()
    {
        _providerToken.Dispose();
        foreach (var invoker in _production.Concat(_sandbox))
        {
            invoker.Dispose();
        }
    }
}
