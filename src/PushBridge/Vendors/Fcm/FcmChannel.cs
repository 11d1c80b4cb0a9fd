using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Vendors.Fcm;

/// <summary>
/// FCM HTTP v1: <c>POST /v1/projects/{project}/messages:send</c>, one message per token, Android priority and collapse key.
/// 401 renews the OAuth token and resends once; 404 / <c>UNREGISTERED</c> and an invalid-token 400 mean the token is dead.
/// </summary>
internal sealed class FcmChannel : IPushChannel, IDisposable
{
    private readonly FcmAppOptions _app;
    private readonly FcmAccessToken _accessToken;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly string _sendUrl;

    public FcmChannel(FcmAppOptions app, PushOptions options, TimeProvider time)
    {
        _app = app;
        _time = time;
        _accessToken = new FcmAccessToken(SecretSource.Read(app.ServiceAccountPath, app.ServiceAccountEnvironmentVariable, $"FCM service account of {app.AppId}"), options, time);
        var project = app.ProjectId.Length > 0 ? app.ProjectId : _accessToken.ProjectId;
        if (project.Length == 0)
        {
            throw new InvalidOperationException($"FCM app {app.AppId}: no ProjectId and no project_id in the service account");
        }

        _sendUrl = $"{app.BaseUrl.TrimEnd('/')}/v1/projects/{Uri.EscapeDataString(project)}/messages:send";
        _http = new HttpClient(VendorHttp.CreateHandler(options));
    }

    public string Vendor => PushVendors.Fcm;

    public string AppId => _app.AppId;

    public async Task<IReadOnlyList<VendorReply>> SendAsync(PushNotification notification, IReadOnlyList<VendorTarget> targets, CancellationToken cancellationToken) =>
        await Task.WhenAll(targets.Select(t => SendOneAsync(notification, t.Token, cancellationToken))).ConfigureAwait(false);

    private async Task<VendorReply> SendOneAsync(PushNotification notification, string token, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(Message(notification, token, _time));
        var reply = await PostAsync(body, renewToken: false, cancellationToken).ConfigureAwait(false);
        if (reply.Kind == VendorReplyKind.Rejected && reply.Detail.StartsWith("401", StringComparison.Ordinal))
        {
            reply = await PostAsync(body, renewToken: true, cancellationToken).ConfigureAwait(false);
        }

        return reply;
    }

    private async Task<VendorReply> PostAsync(byte[] body, bool renewToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _sendUrl) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        try
        {
            request.Headers.Authorization = VendorHttp.Bearer(await _accessToken.GetAsync(renewToken, cancellationToken).ConfigureAwait(false));
        }
        catch (Google.Apis.Auth.OAuth2.Responses.TokenResponseException ex)
        {
            // The token endpoint refused the service account: sending cannot work until the credential is fixed.
            return new VendorReply(ex.StatusCode is { } code && VendorHttp.IsRetryable(code) ? VendorReplyKind.Retryable : VendorReplyKind.Rejected,
                $"oauth token refused: {ex.Error.Error} {ex.Error.ErrorDescription}".Trim());
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return VendorReply.Ok;
        }

        var (status, errorCode, message) = await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var detail = $"{(int)response.StatusCode} {errorCode ?? status} {message}".Trim();
        if (response.StatusCode == HttpStatusCode.NotFound || errorCode == "UNREGISTERED"
            || (response.StatusCode == HttpStatusCode.BadRequest && (errorCode == "INVALID_ARGUMENT" || status == "INVALID_ARGUMENT")
                && message.Contains("registration token", StringComparison.OrdinalIgnoreCase)))
        {
            return new VendorReply(VendorReplyKind.TokenGone, detail);
        }

        return VendorHttp.IsRetryable(response.StatusCode)
            ? new VendorReply(VendorReplyKind.Retryable, detail, VendorHttp.RetryAfterOf(response, _time))
            : new VendorReply(VendorReplyKind.Rejected, detail);
    }

    /// <summary>The google.rpc.Status of an error answer: status, the FcmError errorCode from details, message.</summary>
    private static async Task<(string? Status, string? ErrorCode, string Message)> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var error = (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false))?["error"];
            var errorCode = (error?["details"] as JsonArray)?.Select(d => d?["errorCode"]?.GetValue<string>()).FirstOrDefault(c => c is not null);
            return (error?["status"]?.GetValue<string>(), errorCode, error?["message"]?.GetValue<string>() ?? "");
        }
        catch (JsonException)
        {
            return (null, null, "");
        }
    }

    private static JsonObject Message(PushNotification notification, string token, TimeProvider time)
    {
        var data = new JsonObject();
        foreach (var (key, value) in notification.Data)
        {
            data[key] = value;
        }

        var ttl = Math.Max(0, (long)(notification.Expiration - time.GetUtcNow()).TotalSeconds);
        var android = new JsonObject
        {
            ["priority"] = notification.Priority <= 1 ? "HIGH" : "NORMAL",
            ["ttl"] = $"{ttl}s",
            ["notification"] = new JsonObject { ["notification_count"] = notification.Badge, ["tag"] = notification.CollapseId },
        };
        if (notification.CollapseId.Length > 0)
        {
            android["collapse_key"] = notification.CollapseId;
        }

        return new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["token"] = token,
                ["notification"] = new JsonObject { ["title"] = notification.Title, ["body"] = notification.Body },
                ["data"] = data,
                ["android"] = android,
            },
        };
    }

    public void Dispose() => _http.Dispose();
}
