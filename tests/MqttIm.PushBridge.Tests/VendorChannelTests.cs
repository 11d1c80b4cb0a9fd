using System.Text;
using System.Text.Json.Nodes;
using MqttIm.PushBridge.Vendors;

namespace MqttIm.PushBridge.Tests;

/// <summary>Each vendor client against the fake vendor: what it sends (path, headers, credentials, body) and how it reads every answer.</summary>
public sealed class VendorChannelTests(FakeVendorFixture fixture) : IClassFixture<FakeVendorFixture>
{
    private readonly FakeVendorServer _server = fixture.Server;
    private readonly VendorSetup _setup = fixture.Setup;

    private static string Token(string prefix) => prefix + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Apns_PostsOverHttp2_WithEs256ProviderTokenAndApnsHeaders()
    {
        using var apns = _setup.Apns();
        var token = Token("a");

        var reply = Assert.Single(await apns.SendAsync(VendorSetup.Notification(priority: 0, collapseId: "c-42"), [new VendorTarget(token, "sandbox")], default));

        Assert.Equal(VendorReplyKind.Delivered, reply.Kind);
        var request = Assert.Single(_server.RequestsFor(token));
        Assert.Equal(($"/3/device/{token}", "HTTP/2", 200), (request.Path, request.Protocol, request.Status));
        Assert.Equal((VendorSetup.Bundle, "alert", "10", "c-42"), (request.Headers["apns-topic"], request.Headers["apns-push-type"], request.Headers["apns-priority"], request.Headers["apns-collapse-id"]));
        Assert.True(long.Parse(request.Headers["apns-expiration"]) > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var aps = request.Json!["aps"]!;
        Assert.Equal(("alice", "hi bob", 3), (aps["alert"]!["title"]!.GetValue<string>(), aps["alert"]!["body"]!.GetValue<string>(), aps["badge"]!.GetValue<int>()));
        Assert.Equal("c2c:alice:bob", request.Json["conversationId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Apns_LowPriority_UsesPriority5()
    {
        using var apns = _setup.Apns();
        var token = Token("a");
        await apns.SendAsync(VendorSetup.Notification(priority: 3), [new VendorTarget(token, "production")], default);
        Assert.Equal("5", Assert.Single(_server.RequestsFor(token)).Headers["apns-priority"]);
    }

    [Fact]
    public async Task Apns_410Unregistered_And400BadDeviceToken_AreDeadTokens_429And503_AreRetryableWithRetryAfter()
    {
        using var apns = _setup.Apns();
        var (gone, bad, busy, down, other) = (Token("g"), Token("b"), Token("t"), Token("d"), Token("o"));
        _server.Script(gone, FakeVendorServer.Apns(410, "Unregistered"));
        _server.Script(bad, FakeVendorServer.Apns(400, "BadDeviceToken"));
        _server.Script(busy, FakeVendorServer.Apns(429, "TooManyRequests", retryAfterSeconds: 7));
        _server.Script(down, FakeVendorServer.Apns(503, "ServiceUnavailable"));
        _server.Script(other, FakeVendorServer.Apns(400, "PayloadTooLarge"));

        var replies = await apns.SendAsync(VendorSetup.Notification(), new[] { gone, bad, busy, down, other }.Select(t => new VendorTarget(t, "production")).ToList(), default);

        Assert.Equal([VendorReplyKind.TokenGone, VendorReplyKind.TokenGone, VendorReplyKind.Retryable, VendorReplyKind.Retryable, VendorReplyKind.Rejected], replies.Select(r => r.Kind));
        Assert.Equal(("Unregistered", "BadDeviceToken", "PayloadTooLarge"), (replies[0].Detail, replies[1].Detail, replies[4].Detail));
        Assert.Equal(TimeSpan.FromSeconds(7), replies[2].RetryAfter);
        Assert.Null(replies[3].RetryAfter);
    }

    [Fact]
    public async Task Apns_ExpiredProviderToken_IsRenewedAndTheRequestResentOnce()
    {
        using var apns = _setup.Apns();
        var (first, second) = (Token("e"), Token("e"));
        await apns.SendAsync(VendorSetup.Notification(), [new VendorTarget(first, "production")], default);
        var oldJwt = Assert.Single(_server.RequestsFor(first)).Authorization[7..];
        _server.ExpireProviderToken(oldJwt);

        var reply = Assert.Single(await apns.SendAsync(VendorSetup.Notification(), [new VendorTarget(second, "production")], default));

        Assert.Equal(VendorReplyKind.Delivered, reply.Kind);
        var attempts = _server.RequestsFor(second);
        Assert.Equal([403, 200], attempts.Select(a => a.Status));
        Assert.Equal(oldJwt, attempts[0].Authorization[7..]);
        Assert.NotEqual(oldJwt, attempts[1].Authorization[7..]);
    }

    [Fact]
    public async Task Apns_ProviderToken_IsReusedThenRenewedBeforeAnHour()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var apns = _setup.Apns(time);
        var tokens = Enumerable.Range(0, 3).Select(_ => Token("r")).ToArray();

        await apns.SendAsync(VendorSetup.Notification(), [new VendorTarget(tokens[0], "production")], default);
        time.Advance(TimeSpan.FromMinutes(30));
        await apns.SendAsync(VendorSetup.Notification(), [new VendorTarget(tokens[1], "production")], default);
        time.Advance(TimeSpan.FromMinutes(21));
        await apns.SendAsync(VendorSetup.Notification(), [new VendorTarget(tokens[2], "production")], default);

        var jwts = tokens.Select(t => Assert.Single(_server.RequestsFor(t)).Authorization).ToArray();
        Assert.Equal(jwts[0], jwts[1]);
        Assert.NotEqual(jwts[1], jwts[2]);
        var iat = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Pad(jwts[2].Split('.')[1]))))!["iat"]!.GetValue<long>();
        Assert.Equal(time.GetUtcNow().ToUnixTimeSeconds(), iat);
    }

    [Fact]
    public async Task Fcm_UsesTheServiceAccountsOAuthToken_AndSendsAndroidPriorityAndCollapseKey()
    {
        using var fcm = _setup.Fcm();
        var token = Token("f");

        var reply = Assert.Single(await fcm.SendAsync(VendorSetup.Notification(priority: 1, collapseId: "c-7"), [new VendorTarget(token, "production")], default));

        Assert.True(reply.Kind == VendorReplyKind.Delivered, reply.Detail);
        var request = Assert.Single(_server.RequestsFor(token));
        Assert.Equal("/v1/projects/test-project/messages:send", request.Path);
        Assert.StartsWith("Bearer ya29.fake-", request.Authorization);
        var message = request.Json!["message"]!;
        Assert.Equal(("hi bob", "HIGH", "c-7"), (message["notification"]!["body"]!.GetValue<string>(), message["android"]!["priority"]!.GetValue<string>(),
            message["android"]!["collapse_key"]!.GetValue<string>()));
        Assert.Equal("c2c:alice:bob", message["data"]!["conversationId"]!.GetValue<string>());
        Assert.All(_server.Requests.Where(r => r.Vendor == "google-token"), r => Assert.Null(r.Error));
    }

    [Fact]
    public async Task Fcm_Unregistered404_AndInvalidToken400_AreDead_429IsRetryable_OtherBadRequestIsRejected()
    {
        using var fcm = _setup.Fcm();
        var (gone, invalid, busy, other) = (Token("g"), Token("i"), Token("b"), Token("o"));
        _server.Script(gone, FakeVendorServer.Fcm(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."));
        _server.Script(invalid, FakeVendorServer.Fcm(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"));
        _server.Script(busy, FakeVendorServer.Fcm(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "quota", retryAfterSeconds: 3));
        _server.Script(other, FakeVendorServer.Fcm(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \"x\""));

        var replies = await fcm.SendAsync(VendorSetup.Notification(), new[] { gone, invalid, busy, other }.Select(t => new VendorTarget(t, "production")).ToList(), default);

        Assert.Equal([VendorReplyKind.TokenGone, VendorReplyKind.TokenGone, VendorReplyKind.Retryable, VendorReplyKind.Rejected], replies.Select(r => r.Kind));
        Assert.Equal(TimeSpan.FromSeconds(3), replies[2].RetryAfter);
    }

    [Fact]
    public async Task Fcm_ExpiredOAuthToken_IsRefreshedAndTheRequestResentOnce()
    {
        using var fcm = _setup.Fcm();
        var (first, second) = (Token("x"), Token("x"));
        await fcm.SendAsync(VendorSetup.Notification(), [new VendorTarget(first, "production")], default);
        _server.ExpireAccessTokens();

        var reply = Assert.Single(await fcm.SendAsync(VendorSetup.Notification(), [new VendorTarget(second, "production")], default));

        Assert.Equal(VendorReplyKind.Delivered, reply.Kind);
        var attempts = _server.RequestsFor(second);
        Assert.Equal(2, attempts.Count);
        Assert.Equal(Assert.Single(_server.RequestsFor(first)).Authorization, attempts[0].Authorization);
        Assert.NotEqual(attempts[0].Authorization, attempts[1].Authorization);
    }

    [Fact]
    public async Task Hms_ClientCredentialsToken_OneRequestForAllTokens_PartialSuccessMarksOnlyTheIllegalTokens()
    {
        using var hms = _setup.Hms();
        var (good, dead) = (Token("h"), Token("h"));
        _server.Script(good, FakeVendorServer.Hms("80100000", $$"""{"success":1,"failure":1,"illegal_tokens":["{{dead}}"]}"""));

        var replies = await hms.SendAsync(VendorSetup.Notification(collapseId: "c-9"), [new VendorTarget(good, "production"), new VendorTarget(dead, "production")], default);

        Assert.Equal([VendorReplyKind.Delivered, VendorReplyKind.TokenGone], replies.Select(r => r.Kind));
        var request = Assert.Single(_server.RequestsFor(good));
        Assert.Equal($"/v1/{VendorSetup.HmsApp}/messages:send", request.Path);
        Assert.Equal([good, dead], request.DeviceTokens);
        Assert.StartsWith("Bearer hms-fake-", request.Authorization);
        var android = request.Json!["message"]!["android"]!;
        Assert.Equal(("HIGH", "c-9", "hi bob"), (android["urgency"]!.GetValue<string>(), android["notification"]!["tag"]!.GetValue<string>(), android["notification"]!["body"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Hms_80300007_AllTokensDead_FlowControlRetryable_ExpiredTokenRefreshed()
    {
        using var hms = _setup.Hms();
        var (dead, busy, expired) = (Token("d"), Token("b"), Token("e"));
        _server.Script(dead, FakeVendorServer.Hms("80300007", "All the tokens are invalid"));
        _server.Script(busy, FakeVendorServer.Hms("81000001", "flow control", status: 503, retryAfterSeconds: 2));

        Assert.Equal(VendorReplyKind.TokenGone, Assert.Single(await hms.SendAsync(VendorSetup.Notification(), [new VendorTarget(dead, "production")], default)).Kind);
        var busyReply = Assert.Single(await hms.SendAsync(VendorSetup.Notification(), [new VendorTarget(busy, "production")], default));
        Assert.Equal((VendorReplyKind.Retryable, TimeSpan.FromSeconds(2)), (busyReply.Kind, busyReply.RetryAfter));

        _server.ExpireAccessTokens();
        Assert.Equal(VendorReplyKind.Delivered, Assert.Single(await hms.SendAsync(VendorSetup.Notification(), [new VendorTarget(expired, "production")], default)).Kind);
        Assert.Equal([401, 200], _server.RequestsFor(expired).Select(r => r.Status));
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
    }
}
