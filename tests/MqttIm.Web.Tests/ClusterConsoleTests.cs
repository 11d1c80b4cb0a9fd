using Microsoft.Playwright;
using MqttIm.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>The console's node view against a real two-node cluster (a private redis-server, two broker processes).</summary>
[Collection(WebCollection.Name)]
public sealed class ClusterConsoleTests(WebFixture web, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly RedisServer _redis = new();

    public Task InitializeAsync() => _redis.InitializeAsync();

    public Task DisposeAsync() => _redis.DisposeAsync();

    [Fact]
    public async Task The_nodes_view_of_any_node_lists_every_live_node_and_drops_one_that_dies()
    {
        await using var nodeA = await BrokerProcess.StartAsync($"--Cluster:Redis={_redis.Configuration}", "--Cluster:NodeId=web-node-a");
        await using var nodeB = await BrokerProcess.StartAsync($"--Cluster:Redis={_redis.Configuration}", "--Cluster:NodeId=web-node-b");

        await using var console = await BrowserPage.OpenAsync(web.Browser);
        await console.Page.GotoAsync($"http://127.0.0.1:{nodeB.HttpPort}/console/");
        await console.Page.FillAsync("#admin-key", nodeB.AdminKey);
        await console.Page.PressAsync("#admin-key", "Enter");
        await console.Page.ClickAsync("#tabs button[data-tab=nodes]");
        await Expect(console.Page.Locator("#node-rows tr[data-node-id=web-node-a]")).ToBeVisibleAsync();
        await Expect(console.Page.Locator("#node-rows tr[data-node-id=web-node-b]")).ToContainTextAsync("(this)");
        await Expect(console.Page.Locator("#node-note")).ToContainTextAsync("cluster of 2 live nodes");
        await Expect(console.Page.Locator("#node-note")).ToContainTextAsync("web-node-b");
        await console.ScreenshotAsync("console-cluster-nodes", output);

        // Node A dies without leaving: once its heartbeat key expires (Cluster:NodeTimeout) the live table drops it.
        await nodeA.KillAsync();
        await Expect(console.Page.Locator("#node-rows tr[data-node-id=web-node-a]")).ToHaveCountAsync(0);
        await Expect(console.Page.Locator("#node-rows tr")).ToHaveCountAsync(1);
        console.AssertNoConsoleErrors();
    }
}
