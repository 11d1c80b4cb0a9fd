using System.Net;
using System.Text;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 7: every admin endpoint checks the key before it reads the body (malformed JSON without a key is 401), and
/// bad values get 400 problem details, never 500; token lifetimes are capped by Auth:MaxTokenLifetime.
/// </summary>
public sealed class AdminApiSecurityTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    /// <summary>Every admin endpoint that takes a body, and the ones that do not.</summary>
    public static TheoryData<string, string> AdminEndpoints => new()
    {
        { "POST", "/api/admin/tokens" },
        { "POST", "/api/admin/groups" },
        { "POST", "/api/admin/groups/g1/members" },
        { "POST", "/api/admin/groups/g1/rename" },
        { "POST", "/api/admin/groups/g1/roles" },
        { "POST", "/api/admin/groups/g1/mute" },
        { "POST", "/api/admin/notifications" },
        { "GET", "/api/admin/groups/g1" },
        { "DELETE", "/api/admin/groups/g1" },
        { "DELETE", "/api/admin/groups/g1/members/bob" },
        { "GET", "/api/presence?userIds=a" },
    };

    private HttpClient Anonymous() => new() { BaseAddress = new Uri($"http://127.0.0.1:{_broker.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };

    private static HttpRequestMessage Request(string method, string path, string body) => new(new HttpMethod(method), path)
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };

    [Theory]
    [MemberData(nameof(AdminEndpoints))]
    public async Task MalformedBody_WithoutTheKey_Is401_NotParsed(string method, string path)
    {
        using var http = Anonymous();
        foreach (var body in new[] { "{not json", "[1,2", "{\"ttlSeconds\": 1e12}" })
        {
            using var response = await http.SendAsync(Request(method, path, body));
            Assert.True(HttpStatusCode.Unauthorized == response.StatusCode, $"{method} {path} {body}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        using var wrongKey = Request(method, path, "{not json");
        wrongKey.Headers.Add("X-Admin-Key", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrongKey)).StatusCode);
    }

    [Theory]
    [InlineData("/api/admin/tokens")]
    [InlineData("/api/admin/groups")]
    [InlineData("/api/admin/groups/g1/mute")]
    [InlineData("/api/admin/notifications")]
    public async Task MalformedBody_WithTheKey_Is400ProblemDetails(string path)
    {
        using var http = _broker.Http();
        foreach (var body in new[] { "{not json", "{\"userIds\": 5, \"priority\": \"x\", \"muteSeconds\": 1.5}" })
        {
            using var response = await http.SendAsync(Request("POST", path, body));
            Assert.True(HttpStatusCode.BadRequest == response.StatusCode, $"{path} {body}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Theory]
    [InlineData("1e12")]
    [InlineData("1e11")]
    [InlineData("100000000000")]
    [InlineData("1000000000000")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("1.5")]
    [InlineData("\"3600\"")]
    [InlineData("true")]
    [InlineData("99999999999999999999999")]
    public async Task TtlSeconds_OutOfRangeOrNotAWholeNumber_Is400(string ttl)
    {
        using var http = _broker.Http();
        using var response = await http.SendAsync(Request("POST", "/api/admin/tokens", $"{{\"userId\":\"carol\",\"ttlSeconds\":{ttl}}}"));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(HttpStatusCode.BadRequest == response.StatusCode, $"{ttl}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("ttlSeconds", text);
    }

    [Fact]
    public async Task TtlSeconds_WithinTheMaximum_MintsAToken()
    {
        var longest = (long)TimeSpan.FromDays(30).TotalSeconds; // Auth:MaxTokenLifetime default
        var ok = await _broker.AdminPostAsync("/api/admin/tokens", new { userId = "carol", ttlSeconds = longest });
        Assert.True(ok.GetProperty("expiresAt").GetDateTimeOffset() <= DateTimeOffset.UtcNow.AddSeconds(longest + 60));

        using var http = _broker.Http();
        using var tooLong = await http.SendAsync(Request("POST", "/api/admin/tokens", $"{{\"userId\":\"carol\",\"ttlSeconds\":{longest + 1}}}"));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
    }

    [Fact]
    public async Task MuteSeconds_BeyondTenYears_Is400_NotAnOverflow()
    {
        var owner = TestUsers.Unique("own");
        var group = TestUsers.Unique("mg");
        await _broker.AdminPostAsync("/api/admin/groups", new { groupId = group, name = "m", ownerId = owner, memberIds = new[] { "bob" } });
        using var http = _broker.Http();

        using var response = await http.SendAsync(Request("POST", $"/api/admin/groups/{group}/mute", "{\"userIds\":[\"bob\"],\"muteSeconds\":9000000000000000000}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("muteSeconds", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_ShowTheBoundedStructures()
    {
        await using (var a = await TestDevice.ConnectAsync(_broker, "boundeduser"))
        {
            await a.SendAsync("boundedpeer", "hello");
        }

        using var http = _broker.Http();
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Matches(@"mqttim_cache_entries\{cache=""seq_counters""\} [1-9]", metrics);
        Assert.Contains("mqttim_cache_evictions_total", metrics);
        Assert.Contains(@"mqttim_cache_entries{cache=""client_id_owners""}", metrics);
    }
}
