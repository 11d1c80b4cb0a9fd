using Microsoft.Playwright;
using MqttIm.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>The console's node view against a real two-node cluster (private redis-server and PostgreSQL, two broker processes).</summary>
[Collection(WebCollection.Name)]
public sealed class ClusterConsoleTests(WebFixture web, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private readonly PostgresServer _postgres = new();

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        await _postgres.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task The_nodes_view_of_any_node_lists_every_live_node_and_drops_one_that_dies()
    {
        // A cluster shares one store: both nodes on one PostgreSQL database, one Redis.
        var database = await _postgres.CreateDatabaseAsync();
        string[] cluster = [$"--Cluster:Redis={_redis.Configuration}", "--Storage:Provider=PostgreSQL", $"--Storage:PostgreSQL:ConnectionString={database}"];
        await using var nodeA = await BrokerProcess.StartAsync([.. cluster, "--Cluster:NodeId=web-node-a"]);
        await using var nodeB = await BrokerProcess.StartAsync([.. cluster, "--Cluster:NodeId=web-node-b"]);

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

        // A page chats on node A; the console served by node B shows A's published counters and the cluster's totals.
        var alice = TestUsers.Unique("kalice");
        await using var chat = await BrowserPage.OpenAsync(web.Browser);
        await chat.Page.GotoAsync($"http://127.0.0.1:{nodeA.HttpPort}/");
        await chat.Page.FillAsync("#login-user", alice);
        await chat.Page.FillAsync("#login-token", nodeA.Token(alice));
        await chat.Page.ClickAsync("#login-submit");
        await chat.WaitCaughtUpAsync();
        await chat.StartChatAsync(TestUsers.Unique("kbob"));
        await chat.SendAsync("counted on node a");
        await Expect(chat.Message(1)).ToBeVisibleAsync();
        var nodeARow = console.Page.Locator("#node-rows tr[data-node-id=web-node-a]");
        await Expect(nodeARow.Locator("td").Nth(7)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[1-9][\d,]*$")); // accepted on A
        await Expect(nodeARow.Locator("td").Nth(5)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"\d+ (s|min)")); // A's uptime

        await console.Page.ClickAsync("#tabs button[data-tab=overview]");
        await Expect(console.Page.Locator("#scope-row")).ToBeVisibleAsync();
        await console.Page.SelectOptionAsync("#scope", "cluster");
        await Expect(console.Page.Locator("#node")).ToHaveTextAsync("cluster of 2 nodes");
        // Node B accepted nothing and holds no client: what the cluster view counts comes from node A.
        await Expect(console.Page.Locator("#m-accepted")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[1-9][\d,]*$"));
        await Expect(console.Page.Locator("#m-clients")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[1-9][\d,]*$"));
        await Expect(console.Page.Locator("#chart-rates canvas")).ToHaveCountAsync(1);
        await console.ScreenshotAsync("console-cluster-overview", output);
        await console.Page.SelectOptionAsync("#scope", "node");
        await Expect(console.Page.Locator("#node")).ToContainTextAsync("node web-node-b");
        await Expect(console.Page.Locator("#m-accepted")).ToHaveTextAsync("0");
        chat.AssertNoConsoleErrors();
        await console.Page.ClickAsync("#tabs button[data-tab=nodes]");

        // Node A dies without leaving: once its heartbeat key expires (Cluster:NodeTimeout) the live table drops it.
        await nodeA.KillAsync();
        await Expect(console.Page.Locator("#node-rows tr[data-node-id=web-node-a]")).ToHaveCountAsync(0);
        await Expect(console.Page.Locator("#node-rows tr")).ToHaveCountAsync(1);
        console.AssertNoConsoleErrors();
    }
}
