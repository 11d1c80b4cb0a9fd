using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Vendors.Hms;

/// <summary>
/// Huawei Push Kit: <c>POST /v1/{appId}/messages:send</c> with all of a notification's tokens of this app in one request.
/// Result codes: 80000000 success; 80100000 partial success, whose <c>illegal_tokens</c> alone are dead (the others
/// delivered, so nothing is resent); 80300007 all tokens invalid; 80200003 / 401 expired OAuth token (renewed, resent once);
/// 81000001 / 429 / 5xx flow control and errors (retried).
/// </summary>
internal sealed class HmsChannel : IPushChannel, IDisposable
{
    private readonly HmsAppOptions _app;
    private readonly HmsAccessToken _accessToken;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly string _sendUrl;

    public HmsChannel(HmsAppOptions app, PushOptions options, TimeProvider time)
    {
        _app = app;
        _time = time;
        _http = new HttpClient(VendorHttp.CreateHandler(options));
        var secret = SecretSource.Read(app.ClientSecretPath, app.ClientSecretEnvironmentVariable, $"HMS client secret of {app.AppId}");
        _accessToken = new HmsAccessToken(_http, app.TokenUrl, app.ClientId.Length > 0 ? app.ClientId : app.AppId, secret, time);
        _sendUrl = $"{app.BaseUrl.TrimEnd('/')}/v1/{Uri.EscapeDataString(app.AppId)}/messages:send";
    }

    public string Vendor => PushVendors.Hms;

    public string AppId => _app.AppId;

    public async Task<IReadOnlyList<VendorReply>> SendAsync(PushNotification notification, IReadOnlyList<VendorTarget> targets, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(Message(notification, targets, _time));
        var (replies, expired) = await PostAsync(body, targets, renewToken: false, cancellationToken).ConfigureAwait(false);
        if (expired)
        {
            (replies, _) = await PostAsync(body, targets, renewToken: true, cancellationToken).ConfigureAwait(false);
        }

        return replies;
    }

    private async Task<(IReadOnlyList<VendorReply> Replies, bool Expired)> PostAsync(byte[] body, IReadOnlyList<VendorTarget> targets, bool renewToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _sendUrl) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Authorization = VendorHttp.Bearer(await _accessToken.GetAsync(renewToken, cancellationToken).ConfigureAwait(false));
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var (code, message) = await ResultAsync(response, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<VendorReply> All(VendorReply reply) => targets.Select(_ => reply).ToList();
        var detail = $"{code} {message}".Trim();
        switch (code)
        {
            case "80000000":
                return (All(VendorReply.Ok), false);
            case "80100000":
                var illegal = IllegalTokens(message);
                return (targets.Select(t => illegal.Contains(t.Token) ? new VendorReply(VendorReplyKind.TokenGone, "80100000 illegal token") : VendorReply.Ok).ToList(), false);
            case "80300007":
                return (All(new VendorReply(VendorReplyKind.TokenGone, detail)), false);
            case "80200003":
                return (All(new VendorReply(VendorReplyKind.Rejected, detail)), true);
            case "81000001":
                return (All(new VendorReply(VendorReplyKind.Retryable, detail, VendorHttp.RetryAfterOf(response, _time))), false);
        }

        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            return (All(new VendorReply(VendorReplyKind.Rejected, $"401 {detail}")), true);
        }

        return VendorHttp.IsRetryable(response.StatusCode)
            ? (All(new VendorReply(VendorReplyKind.Retryable, $"{(int)response.StatusCode} {detail}", VendorHttp.RetryAfterOf(response, _time))), false)
            : (All(new VendorReply(VendorReplyKind.Rejected, $"{(int)response.StatusCode} {detail}")), false);
    }

    private static async Task<(string Code, string Message)> ResultAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var json = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false);
            return (json?["code"]?.GetValue<string>() ?? "", json?["msg"]?.GetValue<string>() ?? "");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            return ("", "");
        }
    }

    /// <summary>A partial success carries its counts and illegal tokens as JSON inside <c>msg</c>.</summary>
    private static HashSet<string> IllegalTokens(string message)
    {
        try
        {
            return ((JsonNode.Parse(message) as JsonObject)?["illegal_tokens"] as JsonArray)?.Select(t => t?.GetValue<string>() ?? "").ToHashSet(StringComparer.Ordinal) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static JsonObject Message(PushNotification notification, IReadOnlyList<VendorTarget> targets, TimeProvider time)
    {
        var data = new JsonObject();
        foreach (var (key, value) in notification.Data)
        {
            data[key] = value;
        }

        var ttl = Math.Max(0, (long)(notification.Expiration - time.GetUtcNow()).TotalSeconds);
        var androidNotification = new JsonObject
        {
            ["title"] = notification.Title,
            ["body"] = notification.Body,
            ["click_action"] = new JsonObject { ["type"] = 3 },
            ["badge"] = new JsonObject { ["set_num"] = notification.Badge },
        };
        if (notification.CollapseId.Length > 0)
        {
            androidNotification["tag"] = notification.CollapseId; // a newer notification with the same tag replaces the older one
        }

        return new JsonObject
        {
            ["validate_only"] = false,
            ["message"] = new JsonObject
            {
                ["token"] = new JsonArray(targets.Select(t => (JsonNode)t.Token).ToArray()),
                ["data"] = data.ToJsonString(),
                ["android"] = new JsonObject
                {
                    ["urgency"] = notification.Priority <= 1 ? "HIGH" : "NORMAL",
                    ["category"] = "IM",
                    ["ttl"] = $"{ttl}s",
                    ["notification"] = androidNotification,
                },
            },
        };
    }

    public void Dispose() => _http.Dispose();
}
