using System.Text.Json;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.PushBridge.Tests;

/// <summary>Through the real broker process: offline recipients are pushed via the fake vendors, online ones are not.</summary>
[Collection(PushBrokerCollection.Name)]
public sealed class PushEndToEndTests(PushBrokerFixture fixture) : IClassFixture<PushBrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;
    private readonly FakeVendorServer _vendors = fixture.Vendors;

    private static string Token(string prefix) => prefix + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task OfflineUser_IsPushedForA1to1Message_OnlineUserIsNot()
    {
        var (alice, bob, carol, dave) = (TestUsers.Unique("al"), TestUsers.Unique("bob"), TestUsers.Unique("car"), TestUsers.Unique("dav"));
        var (bobToken, carolToken, daveToken) = (Token("b"), Token("c"), Token("d"));
        await _broker.RegisterAsync(bob, "apns", VendorSetup.Bundle, bobToken);
        await _broker.RegisterAsync(dave, "apns", VendorSetup.Bundle, daveToken);
        // carol registers over MQTT (im/rpc/push/register), then goes offline
        await using (var carolPhone = await TestDevice.ConnectAsync(_broker, carol))
        {
            var answer = await carolPhone.RpcAsync("push/register", new PushRegisterRequest { RequestId = "r1", Vendor = "fcm", AppId = VendorSetup.FcmApp, Token = carolToken }, "r1");
            Assert.Equal(RpcResponse.ResultOneofCase.PushTokens, answer.ResultCase);
            Assert.Equal((carolToken[..8], carolPhone.ClientId), (answer.PushTokens.Tokens.Single().TokenPrefix, answer.PushTokens.Tokens.Single().DeviceId));
        }

        await using var davePhone = await TestDevice.ConnectAsync(_broker, dave);
        await using var alicePhone = await TestDevice.ConnectAsync(_broker, alice);
        await alicePhone.SendAsync(dave, "hi dave");
        await alicePhone.SendAsync(bob, "hi bob");
        await alicePhone.SendAsync(carol, "hi carol");

        Assert.Equal("hi dave", (await davePhone.NextChatMessageAsync()).Text);
        var push = Assert.Single(await _vendors.WaitForAsync(bobToken));
        Assert.Equal(($"/3/device/{bobToken}", "HTTP/2", VendorSetup.Bundle), (push.Path, push.Protocol, push.Headers["apns-topic"]));
        Assert.Equal((alice, "hi bob", 1), (push.Json!["aps"]!["alert"]!["title"]!.GetValue<string>(), push.Json["aps"]!["alert"]!["body"]!.GetValue<string>(),
            push.Json["aps"]!["badge"]!.GetValue<int>()));
        var fcm = Assert.Single(await _vendors.WaitForAsync(carolToken));
        Assert.Equal("hi carol", fcm.Json!["message"]!["notification"]!["body"]!.GetValue<string>());

        // dave's message was sent first with the same merge window: had it produced a push, it would have arrived by now.
        Assert.Empty(_vendors.RequestsFor(daveToken));
        Assert.Empty(await _broker.OutcomesAsync(dave));
        Assert.Equal(["delivered"], await _broker.OutcomesAsync(bob));
    }

    [Fact]
    public async Task ADeviceComingOnlineWithinTheMergeWindow_GetsTheMessageLive_AndNoPushIsSent()
    {
        var (alice, erin, frank) = (TestUsers.Unique("al"), TestUsers.Unique("erin"), TestUsers.Unique("frk"));
        var (erinToken, frankToken) = (Token("e"), Token("f"));
        await _broker.RegisterAsync(erin, "apns", VendorSetup.Bundle, erinToken);
        await _broker.RegisterAsync(frank, "apns", VendorSetup.Bundle, frankToken);
        await using var alicePhone = await TestDevice.ConnectAsync(_broker, alice);

        await alicePhone.SendAsync(erin, "are you there?");
        await _broker.WaitForAdminAsync($"/api/admin/push/pending?userId={erin}", j => j.GetArrayLength() == 1);
        await using var erinPhone = await TestDevice.ConnectAsync(_broker, erin);
        var synced = Assert.Single((await erinPhone.SyncAllAsync())[TestUsers.C2c(alice, erin)]);
        Assert.Equal("are you there?", synced.Text);
        await _broker.WaitForAdminAsync($"/api/admin/push/outcomes?userId={erin}", j => j.GetArrayLength() == 1 && j[0].GetProperty("result").GetString() == "cancelled_online");

        await alicePhone.SendAsync(frank, "marker");
        await _vendors.WaitForAsync(frankToken);
        Assert.Empty(_vendors.RequestsFor(erinToken));
        Assert.Equal(0, (await _broker.AdminGetAsync($"/api/admin/push/pending?userId={erin}")).GetArrayLength());
    }

    [Fact]
    public async Task DeadTokensAreRemovedAndNeverRetried_503And429AreRetriedAfterRetryAfter()
    {
        var (alice, gina, henry) = (TestUsers.Unique("al"), TestUsers.Unique("gina"), TestUsers.Unique("hen"));
        var (ginaToken, henryToken) = (Token("g"), Token("h"));
        await _broker.RegisterAsync(gina, "apns", VendorSetup.Bundle, ginaToken);
        await _broker.RegisterAsync(henry, "apns", VendorSetup.Bundle, henryToken);
        _vendors.Script(ginaToken, FakeVendorServer.Apns(503, "ServiceUnavailable", retryAfterSeconds: 1), FakeVendorServer.Apns(429, "TooManyRequests", retryAfterSeconds: 1));
        _vendors.Script(henryToken, FakeVendorServer.Apns(410, "Unregistered"));
        await using var alicePhone = await TestDevice.ConnectAsync(_broker, alice);

        await alicePhone.SendAsync(gina, "retry me");
        await alicePhone.SendAsync(henry, "you are gone");

        var attempts = await _vendors.WaitForAsync(ginaToken, count: 3);
        Assert.Equal([503, 429, 200], attempts.Select(a => a.Status));
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromSeconds(0.95), $"retried after {attempts[1].At - attempts[0].At}");
        Assert.True(attempts[2].At - attempts[1].At >= TimeSpan.FromSeconds(0.95), $"retried after {attempts[2].At - attempts[1].At}");
        Assert.Single(_vendors.RequestsFor(henryToken));
        await _broker.WaitForAdminAsync($"/api/admin/push/outcomes?userId={henry}", j => j.GetArrayLength() == 1 && j[0].GetProperty("result").GetString() == "token_removed");
        Assert.Equal(0, (await _broker.AdminGetAsync($"/api/admin/push/tokens?userId={henry}")).GetArrayLength());

        // The next message finds no token: nothing more goes to the dead one (gina's push proves the round has passed).
        await alicePhone.SendAsync(henry, "still gone?");
        await alicePhone.SendAsync(gina, "marker");
        await _vendors.WaitForAsync(ginaToken, count: 4);
        Assert.Single(_vendors.RequestsFor(henryToken));
    }

    [Fact]
    public async Task AnExpiredOAuthToken_IsRefreshed_AndThePushResent()
    {
        var (alice, ivan) = (TestUsers.Unique("al"), TestUsers.Unique("ivan"));
        var ivanToken = Token("i");
        await _broker.RegisterAsync(ivan, "fcm", VendorSetup.FcmApp, ivanToken, environment: "production");
        await using var alicePhone = await TestDevice.ConnectAsync(_broker, alice);
        await alicePhone.SendAsync(ivan, "first");
        await _vendors.WaitForAsync(ivanToken);

        _vendors.ExpireAccessTokens();
        await alicePhone.SendAsync(ivan, "second");

        var requests = await _vendors.WaitForAsync(ivanToken, count: 3);
        Assert.Equal([200, 401, 200], requests.Select(r => r.Status));
        Assert.Equal(requests[0].Authorization, requests[1].Authorization);
        Assert.NotEqual(requests[1].Authorization, requests[2].Authorization);
        Assert.Equal("second", requests[2].Json!["message"]!["notification"]!["body"]!.GetValue<string>());
    }

    [Fact]
    public async Task Hms_OfflineUserIsPushed_WithAClientCredentialsToken()
    {
        var (alice, judy) = (TestUsers.Unique("al"), TestUsers.Unique("judy"));
        var judyToken = Token("j");
        await _broker.RegisterAsync(judy, "hms", VendorSetup.HmsApp, judyToken, environment: "production");
        await using var alicePhone = await TestDevice.ConnectAsync(_broker, alice);

        await alicePhone.SendAsync(judy, "ni hao");

        var push = Assert.Single(await _vendors.WaitForAsync(judyToken));
        Assert.Equal(($"/v1/{VendorSetup.HmsApp}/messages:send", 200), (push.Path, push.Status));
        Assert.Equal("ni hao", push.Json!["message"]!["android"]!["notification"]!["body"]!.GetValue<string>());
        Assert.Contains(_vendors.Requests, r => r.Vendor == "hms-token" && r.Error is null);
    }

    [Fact]
    public async Task SmallGroup_OfflineMembersArePushed_OnlineMembersAndTheSenderAreNot()
    {
        var (alice, mia, nat) = (TestUsers.Unique("al"), TestUsers.Unique("mia"), TestUsers.Unique("nat"));
        var (aliceToken, miaToken, natToken) = (Token("a"), Token("m"), Token("n"));
        await _broker.RegisterAsync(alice, "apns", VendorSetup.Bundle, aliceToken);
        await _broker.RegisterAsync(mia, "apns", VendorSetup.Bundle, miaToken);
        await _broker.RegisterAsync(nat, "apns", VendorSetup.Bundle, natToken);
        var created = await _broker.AdminPostAsync("/api/admin/groups", new { name = "team", ownerId = alice, memberIds = new[] { mia, nat } });
        var groupId = created.GetProperty("groupId").GetString()!;
        await using var natPhone = await TestDevice.ConnectAsync(_broker, nat);
        await using var alicePhone = await TestDevice.ConnectAsync(_broker, alice);

        await alicePhone.PublishAsync($"im/group/{groupId}", alicePhone.Encode(new SendRequest { Text = "standup in 5" }));

        var push = Assert.Single(await _vendors.WaitForAsync(miaToken));
        Assert.Equal(($"{alice} ({groupId})", "standup in 5", "5"), (push.Json!["aps"]!["alert"]!["title"]!.GetValue<string>(),
            push.Json["aps"]!["alert"]!["body"]!.GetValue<string>(), push.Headers["apns-priority"]));
        Assert.Empty(_vendors.RequestsFor(natToken));
        Assert.Empty(_vendors.RequestsFor(aliceToken));
    }

    [Fact]
    public async Task P0Notification_ToAnOfflineUser_IsPushedAtOnceWithHighPriority()
    {
        var oscar = TestUsers.Unique("osc");
        var oscarToken = Token("o");
        await _broker.RegisterAsync(oscar, "apns", VendorSetup.Bundle, oscarToken);

        var started = DateTimeOffset.UtcNow;
        await _broker.AdminPostAsync("/api/admin/notifications", new { userIds = new[] { oscar }, priority = 0, type = "security", title = "New login", text = "from Berlin" });

        var push = Assert.Single(await _vendors.WaitForAsync(oscarToken));
        Assert.Equal(("New login", "from Berlin", "10"), (push.Json!["aps"]!["alert"]!["title"]!.GetValue<string>(), push.Json["aps"]!["alert"]!["body"]!.GetValue<string>(),
            push.Headers["apns-priority"]));
        Assert.True(push.At - started < PushBrokerFixture.MergeWindow, $"a P0 push waited {push.At - started} (the merge window is {PushBrokerFixture.MergeWindow})");
    }

    [Fact]
    public async Task BadRegistrations_AreRefusedWithProblemDetails()
    {
        var user = TestUsers.Unique("bad");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_broker.HttpPort}") };
        http.DefaultRequestHeaders.Authorization = new("Bearer", _broker.Token(user));

        var unknownVendor = await http.PostAsync($"/api/users/{user}/push/tokens", JsonContent(new { vendor = "pager", appId = "x", token = "t", deviceId = "d" }));
        var noAuth = await new HttpClient().PostAsync($"http://127.0.0.1:{_broker.HttpPort}/api/users/{user}/push/tokens", JsonContent(new { vendor = "apns" }));

        Assert.Equal(400, (int)unknownVendor.StatusCode);
        Assert.Contains("vendor must be", await unknownVendor.Content.ReadAsStringAsync());
        Assert.Equal(401, (int)noAuth.StatusCode);
    }

    private static StringContent JsonContent(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}

/// <summary>Broker-process push tests run one class at a time (each class has its broker; the crash test kills its own).</summary>
[CollectionDefinition(Name)]
public sealed class PushBrokerCollection
{
    public const string Name = "push broker";
}
