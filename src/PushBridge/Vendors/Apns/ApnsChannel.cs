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
    private readonly string _productionDevicePath;
    private readonly string _sandboxDevicePath;
    private int _next;

    public ApnsChannel(ApnsAppOptions app, PushOptions options, TimeProvider time)
    {
        _app = app;
        _time = time;
        _providerToken = new ApnsProviderToken(SecretSource.Read(app.KeyPath, app.KeyEnvironmentVariable, $"APNs key of {app.BundleId}"), app.TeamId, app.KeyId, app.TokenLifetime, time);
        _production = Enumerable.Range(0, app.Connections).Select(_ => new HttpMessageInvoker(VendorHttp.CreateHandler(options))).ToArray();
        _sandbox = Enumerable.Range(0, app.Connections).Select(_ => new HttpMessageInvoker(VendorHttp.CreateHandler(options))).ToArray();
        _productionDevicePath = app.BaseUrl.TrimEnd('/') + "/3/device/";
        _sandboxDevicePath = app.SandboxBaseUrl.TrimEnd('/') + "/3/device/";
    }

    public string Vendor => PushVendors.Apns;

    public string AppId => _app.BundleId;

    public async Task<IReadOnlyList<VendorReply>> SendAsync(PushNotification notification, IReadOnlyList<VendorTarget> targets, CancellationToken cancellationToken)
    {
        // Everything but the token is the same for every target: built once per notification.
        var shared = new SharedParts(
            JsonSerializer.SerializeToUtf8Bytes(Payload(notification)),
            notification.Priority <= 1 ? "10" : "5",
            notification.Expiration.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            notification.CollapseId);
        return targets.Count == 1
            ? [await SendOneAsync(shared, targets[0], cancellationToken).ConfigureAwait(false)]
            : await Task.WhenAll(targets.Select(t => SendOneAsync(shared, t, cancellationToken))).ConfigureAwait(false);
    }

    private async Task<VendorReply> SendOneAsync(SharedParts shared, VendorTarget target, CancellationToken cancellationToken)
    {
        var sandbox = target.Environment == "sandbox";
        var pool = sandbox ? _sandbox : _production;
        var invoker = pool.Length == 1 ? pool[0] : pool[(int)((uint)Interlocked.Increment(ref _next) % pool.Length)];
        var url = (sandbox ? _sandboxDevicePath : _productionDevicePath) + Uri.EscapeDataString(target.Token);
        var reply = await PostAsync(invoker, url, shared, renewToken: false, cancellationToken).ConfigureAwait(false);
        if (reply.Detail is "ExpiredProviderToken" or "InvalidProviderToken" && reply.Kind == VendorReplyKind.Rejected)
        {
            reply = await PostAsync(invoker, url, shared, renewToken: true, cancellationToken).ConfigureAwait(false);
        }

        return reply;
    }

    private async Task<VendorReply> PostAsync(HttpMessageInvoker invoker, string url, SharedParts shared, bool renewToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(shared.Body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Headers.TryAddWithoutValidation("Authorization", "bearer " + _providerToken.Get(renewToken));
        request.Headers.TryAddWithoutValidation("apns-topic", _app.BundleId);
        request.Headers.TryAddWithoutValidation("apns-push-type", "alert");
        request.Headers.TryAddWithoutValidation("apns-priority", shared.Priority);
        request.Headers.TryAddWithoutValidation("apns-expiration", shared.Expiration);
        if (shared.CollapseId.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("apns-collapse-id", shared.CollapseId);
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

    /// <summary>The request parts every target of one notification shares.</summary>
    private sealed record SharedParts(byte[] Body, string Priority, string Expiration, string CollapseId);

    public void Dispose()
    {
        _providerToken.Dispose();
        foreach (var invoker in _production.Concat(_sandbox))
        {
            invoker.Dispose();
        }
    }
}
