using System.Net;
using System.Text.RegularExpressions;
using MqttIm.Testing;

namespace MqttIm.Web.Tests;

/// <summary>The pages come from the broker itself, bundled (no CDN at run time), with caching headers that let a new build through.</summary>
[Collection(WebCollection.Name)]
public sealed partial class StaticAssetsTests(WebFixture web)
{
    [Theory]
    [InlineData("/")]
    [InlineData("/console/")]
    public async Task Each_page_is_revalidated_and_its_hashed_bundles_are_cached_for_a_year_and_nothing_loads_from_elsewhere(string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(web.BaseUrl) };
        var page = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", page.Headers.CacheControl?.ToString());
        var html = await page.Content.ReadAsStringAsync();

        var assets = AssetReference().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains(assets, a => a.EndsWith(".js", StringComparison.Ordinal));
        Assert.Contains(assets, a => a.EndsWith(".css", StringComparison.Ordinal));
        foreach (var asset in assets)
        {
            var response = await http.GetAsync(asset);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{asset}: {(int)response.StatusCode}");
            Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotMatch(ExternalLoad(), body);
        }

        Assert.DoesNotMatch(ExternalLoad(), html);
    }

    [Fact]
    public async Task Console_without_a_slash_redirects_to_the_console_page()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(web.BaseUrl) };
        var response = await http.GetAsync("/console");
        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.EndsWith("/console/", response.Headers.Location?.ToString());
    }

    [Fact]
    public async Task Console_endpoints_refuse_a_missing_or_wrong_admin_key_and_answer_the_right_one()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(web.BaseUrl) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/admin/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/admin/clients")).StatusCode);
        anonymous.DefaultRequestHeaders.Add("X-Admin-Key", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync("/api/admin/clients/x")).StatusCode);

        using var admin = web.Broker.Http();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/admin/clients/nobody-here")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/api/admin/clients?limit=0")).StatusCode);
        var metrics = await admin.GetStringAsync("/api/admin/metrics");
        Assert.Contains("\"messagesAccepted\"", metrics);
        Assert.Contains("\"storeCommitSecondsSum\"", metrics);
    }

    [GeneratedRegex("(?:src|href)=\"(/assets/[^\"]+)\"")]
    private static partial Regex AssetReference();

    // A script, stylesheet or font fetched from another origin at run time (links in licence comments are fine).
    [GeneratedRegex("""(?:src=|href=|@import\s+url\(|import\s*\(\s*)["']?https?://""")]
    private static partial Regex ExternalLoad();
}
