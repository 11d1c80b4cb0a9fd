using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace MqttIm.PushBridge.Tests;

/// <summary>
/// Local fake APNs, FCM and HMS on one loopback Kestrel server with TLS (a self-signed certificate made here) and HTTP/2.
/// Speaks each vendor's HTTP API: checks path, headers, the APNs ES256 provider token (against the test's key), the OAuth
/// bearer tokens it issued itself, and answers with scripted replies (default: success). Every request is recorded.
/// </summary>
public sealed class FakeVendorServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Func<HttpContext, Task>>> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<VendorRequest> _requests = new();
    private TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, bool> _issuedTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _revokedTokens = new(StringComparer.Ordinal);
    private int _issued;
    private WebApplication? _app;

    private FakeVendorServer(TimeProvider time)
    {
        Time = time;
        Certificate = CreateCertificate();
        ApnsKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ServiceAccountKey = RSA.Create(2048);
    }

    public TimeProvider Time { get; }

    public X509Certificate2 Certificate { get; }

    /// <summary>The APNs signing key; <see cref="ApnsKeyPem"/> is what a .p8 file holds.</summary>
    public ECDsa ApnsKey { get; }

    public string ApnsKeyPem => ApnsKey.ExportPkcs8PrivateKeyPem();

    public RSA ServiceAccountKey { get; }

    public string BaseUrl { get; private set; } = "";

    public string TokenUrl => BaseUrl + "/token";

    public string HmsTokenUrl => BaseUrl + "/oauth2/v3/token";

    public const string TeamId = "TEAM123456";
    public const string KeyId = "KEY7654321";
    public const string HmsClientSecret = "hms-secret-for-tests";
    public const string ServiceAccountEmail = "push@test-project.iam.gserviceaccount.com";

    public IReadOnlyList<VendorRequest> Requests => _requests.ToArray();

    public static async Task<FakeVendorServer> StartAsync(TimeProvider? time = null)
    {
        var server = new FakeVendorServer(time ?? TimeProvider.System);
        await server.RunAsync();
        return server;
    }

    /// <summary>The certificate as PEM, for <c>Push:TrustedCertificatePath</c>.</summary>
    public string WriteCertificate(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "fake-vendor.pem");
        File.WriteAllText(path, Certificate.ExportCertificatePem());
        return path;
    }

    public string ServiceAccountJson(string projectId = "test-project") => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = projectId,
        ["private_key_id"] = "k1",
        ["private_key"] = ServiceAccountKey.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = ServiceAccountEmail,
        ["token_uri"] = TokenUrl,
    }.ToJsonString();

    /// <summary>The next answers for requests about <paramref name="token"/> (an APNs/FCM device token, or the first HMS token), in order.</summary>
    public void Script(string token, params Func<HttpContext, Task>[] replies)
    {
        var queue = _scripts.GetOrAdd(token, _ => new ConcurrentQueue<Func<HttpContext, Task>>());
        foreach (var reply in replies)
        {
            queue.Enqueue(reply);
        }
    }

    /// <summary>Makes every OAuth access token issued so far invalid (the vendor then answers its expiry error).</summary>
    public void ExpireAccessTokens()
    {
        foreach (var token in _issuedTokens.Keys)
        {
            _revokedTokens[token] = true;
        }
    }

    public IReadOnlyList<VendorRequest> RequestsFor(string token) => Requests.Where(r => r.DeviceTokens.Contains(token)).ToList();

    /// <summary>
    /// Waits until <paramref name="count"/> requests concerning <paramref name="token"/> have been answered (their
    /// <see cref="VendorRequest.Status"/> is set), woken by each answer; bounded by <paramref name="timeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<VendorRequest>> WaitForAsync(string token, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var answered = Volatile.Read(ref _answered).Task; // taken before looking, so an answer in between is not missed
            var found = RequestsFor(token).Where(r => r.Status != 0).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"expected {count} answered vendor request(s) for token {token}, got {found.Count}; all: {string.Join(", ", Requests.Select(r => r.Path))}");
            }

            await Task.WhenAny(answered, Task.Delay(left));
        }
    }

    /// <summary>Sets the request's answer and wakes the waiters.</summary>
    private void Answered(VendorRequest request, int status)
    {
        request.Status = status;
        Interlocked.Exchange(ref _answered, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public static Func<HttpContext, Task> Status(int status, string json = "", int? retryAfterSeconds = null) => async context =>
    {
        context.Response.StatusCode = status;
        if (retryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (json.Length > 0)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(json);
        }
    };

    public static Func<HttpContext, Task> Apns(int status, string reason, int? retryAfterSeconds = null) =>
        Status(status, $$"""{"reason":"{{reason}}"}""", retryAfterSeconds);

    public static Func<HttpContext, Task> Fcm(int status, string grpcStatus, string? errorCode = null, string message = "", int? retryAfterSeconds = null) =>
        Status(status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status, ["status"] = grpcStatus, ["message"] = message,
                ["details"] = errorCode is null ? new JsonArray() : new JsonArray(new JsonObject { ["@type"] = "type.googleapis.com/google.firebase.fcm.v1.FcmError", ["errorCode"] = errorCode }),
            },
        }.ToJsonString(), retryAfterSeconds);

    public static Func<HttpContext, Task> Hms(string code, string msg, int status = 200, int? retryAfterSeconds = null) =>
        Status(status, new JsonObject { ["code"] = code, ["msg"] = msg, ["requestId"] = "r1" }.ToJsonString(), retryAfterSeconds);

    private async Task RunAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(Certificate);
        }));
        _app = builder.Build();
        _app.MapPost("/3/device/{token}", ApnsAsync);
        _app.MapPost("/v1/projects/{project}/messages:send", FcmAsync);
        _app.MapPost("/token", GoogleTokenAsync);
        _app.MapPost("/oauth2/v3/token", HmsTokenAsync);
        _app.MapPost("/v1/{appId}/messages:send", HmsAsync);
        await _app.StartAsync();
        var address = _app.Urls.First();
        BaseUrl = "https://127.0.0.1:" + new Uri(address).Port;
    }

    private async Task ApnsAsync(HttpContext context, string token)
    {
        var body = await ReadBodyAsync(context);
        var auth = context.Request.Headers.Authorization.ToString();
        var jwtError = CheckApnsJwt(auth);
        var request = Record(context, "apns", [token], body, auth);
        if (context.Request.Protocol != "HTTP/2")
        {
            await Answer(context, request, Apns(400, "ApnsNeedsHttp2"));
        }
        else if (jwtError is not null)
        {
            await Answer(context, request, Apns(403, jwtError));
        }
        else if (context.Request.Headers["apns-topic"].ToString().Length == 0)
        {
            await Answer(context, request, Apns(400, "MissingTopic"));
        }
        else
        {
            await ReplyAsync(context, token, request);
        }
    }

    private async Task FcmAsync(HttpContext context, string project)
    {
        var body = await ReadBodyAsync(context);
        var token = (JsonNode.Parse(body)?["message"]?["token"])?.GetValue<string>() ?? "";
        var auth = context.Request.Headers.Authorization.ToString();
        var request = Record(context, "fcm", [token], body, auth);
        if (!BearerValid(auth))
        {
            await Answer(context, request, Fcm(401, "UNAUTHENTICATED", null, "Request had invalid authentication credentials."));
            return;
        }

        await ReplyAsync(context, token, request);
    }

    private async Task HmsAsync(HttpContext context, string appId)
    {
        var body = await ReadBodyAsync(context);
        var tokens = (JsonNode.Parse(body)?["message"]?["token"] as JsonArray)?.Select(t => t!.GetValue<string>()).ToArray() ?? [];
        var auth = context.Request.Headers.Authorization.ToString();
        var request = Record(context, "hms", tokens, body, auth);
        if (!BearerValid(auth))
        {
            await Answer(context, request, Hms("80200003", "OAuth token expired", 401));
            return;
        }

        await ReplyAsync(context, tokens.FirstOrDefault() ?? "", request, success: Hms("80000000", "Success"));
    }

    /// <summary>Google's token endpoint: a JWT-bearer assertion signed by the service account's key, for the messaging scope (aud is Google's token URL whatever token_uri says).</summary>
    private async Task GoogleTokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        var assertion = form["assertion"].ToString();
        var request = Record(context, "google-token", [], form["grant_type"].ToString(), assertion);
        var error = form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" ? "unsupported_grant_type" : CheckServiceAccountAssertion(assertion);
        request.Error = error;
        if (error is not null)
        {
            await Status(400, new JsonObject { ["error"] = "invalid_grant", ["error_description"] = error }.ToJsonString())(context);
            return;
        }

        await IssueAsync(context, "ya29.fake-");
    }

    private async Task HmsTokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        var request = Record(context, "hms-token", [], form["grant_type"].ToString(), form["client_id"].ToString());
        if (form["grant_type"] != "client_credentials" || form["client_secret"] != HmsClientSecret)
        {
            request.Error = "invalid_client";
            await Status(401, """{"error":1101,"sub_error":20152,"error_description":"invalid client"}""")(context);
            return;
        }

        await IssueAsync(context, "hms-fake-");
    }

    private async Task IssueAsync(HttpContext context, string prefix)
    {
        var token = prefix + Interlocked.Increment(ref _issued);
        _issuedTokens[token] = true;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["access_token"] = token, ["expires_in"] = 3600, ["token_type"] = "Bearer" }.ToJsonString());
    }

    private bool BearerValid(string authorization)
    {
        var token = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..] : "";
        return _issuedTokens.ContainsKey(token) && !_revokedTokens.ContainsKey(token);
    }

    private async Task Answer(HttpContext context, VendorRequest request, Func<HttpContext, Task> reply)
    {
        await reply(context);
        Answered(request, context.Response.StatusCode);
    }

    private async Task ReplyAsync(HttpContext context, string token, VendorRequest request, Func<HttpContext, Task>? success = null)
    {
        if (_scripts.TryGetValue(token, out var queue) && queue.TryDequeue(out var reply))
        {
            await reply(context);
        }
        else if (success is not null)
        {
            await success(context);
        }
        else
        {
            context.Response.StatusCode = 200;
            context.Response.Headers["apns-id"] = Guid.NewGuid().ToString();
        }

        Answered(request, context.Response.StatusCode);
    }

    private VendorRequest Record(HttpContext context, string vendor, string[] tokens, string body, string authorization)
    {
        var request = new VendorRequest(vendor, context.Request.Path.Value ?? "", context.Request.Protocol,
            context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body, tokens, authorization, Time.GetUtcNow());
        _requests.Enqueue(request);
        return request;
    }

    /// <summary>Checks the ES256 JWT: header kid, claims iss and a recent iat, the signature with the test key. Returns the APNs reason on failure.</summary>
    private string? CheckApnsJwt(string authorization)
    {
        if (!authorization.StartsWith("bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return "MissingProviderToken";
        }

        var parts = authorization[7..].Split('.');
        if (parts.Length != 3)
        {
            return "InvalidProviderToken";
        }

        var header = JsonNode.Parse(Base64Url(parts[0]));
        var claims = JsonNode.Parse(Base64Url(parts[1]));
        var signatureOk = ApnsKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        if (!signatureOk || header?["alg"]?.GetValue<string>() != "ES256" || header["kid"]?.GetValue<string>() != KeyId || claims?["iss"]?.GetValue<string>() != TeamId)
        {
            return "InvalidProviderToken";
        }

        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(claims["iat"]!.GetValue<long>());
        return Time.GetUtcNow() - issuedAt > TimeSpan.FromHours(1) || _revokedTokens.ContainsKey(authorization[7..]) ? "ExpiredProviderToken" : null;
    }

    /// <summary>Makes APNs answer ExpiredProviderToken to this provider token (as Apple does to an old one).</summary>
    public void ExpireProviderToken(string jwt) => _revokedTokens[jwt] = true;

    private string? CheckServiceAccountAssertion(string assertion)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3)
        {
            return "invalid_grant";
        }

        var claims = JsonNode.Parse(Base64Url(parts[1]));
        var signed = ServiceAccountKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signed && claims?["iss"]?.GetValue<string>() == ServiceAccountEmail && claims["aud"]?.GetValue<string>() == "https://oauth2.googleapis.com/token"
            && (claims["scope"]?.GetValue<string>() ?? "").Contains("firebase.messaging", StringComparison.Ordinal)
            ? null
            : $"signature {(signed ? "ok" : "bad")}, claims {claims?.ToJsonString()}";
    }

    private static byte[] Base64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
    }

    private static async Task<string> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        return await reader.ReadToEndAsync();
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=fake-vendor.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        Certificate.Dispose();
        ApnsKey.Dispose();
        ServiceAccountKey.Dispose();
    }
}

/// <summary>One request a fake vendor received.</summary>
public sealed record VendorRequest(string Vendor, string Path, string Protocol, IReadOnlyDictionary<string, string> Headers, string Body, string[] DeviceTokens,
    string Authorization, DateTimeOffset At)
{
    public int Status { get; set; }

    public string? Error { get; set; }

    public JsonNode? Json => Body.StartsWith('{') ? JsonNode.Parse(Body) : null;
}
