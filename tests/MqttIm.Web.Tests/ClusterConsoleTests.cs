using System.Net.Http.Json;
using Microsoft.Playwright;
using MqttIm.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>The console against a real two-node cluster (private redis-server and PostgreSQL, two broker processes): nodes, cluster totals, clients and subscriptions of the other node, a disconnect across nodes.</summary>
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

        // Node A's console lists a client connected to node B, with its subscriptions, and disconnects it there.
        await WaitUntilNodeSeesAsync(nodeA, 2);
        var carol = TestUsers.Unique("kcarol");
        await using var carolOnB = await TestDevice.ConnectAsync(nodeB, carol);
        await using var consoleA = await BrowserPage.OpenAsync(web.Browser);
        await consoleA.Page.GotoAsync($"http://127.0.0.1:{nodeA.HttpPort}/console/");
        await consoleA.Page.FillAsync("#admin-key", nodeA.AdminKey);
        await consoleA.Page.PressAsync("#admin-key", "Enter");
        await consoleA.Page.ClickAsync("#tabs button[data-tab=clients]");
        await consoleA.Page.FillAsync("#client-search-text", carol);
        await consoleA.Page.PressAsync("#client-search-text", "Enter");
        var carolRow = consoleA.Page.Locator($"#client-rows tr[data-client-id='{carolOnB.ClientId}']");
        await Expect(carolRow).ToHaveAttributeAsync("data-node-id", "web-node-b");
        await Expect(carolRow.Locator("td").Nth(1)).ToHaveTextAsync(carol);
        await Expect(carolRow.Locator("td").Nth(2)).ToHaveTextAsync("web-node-b");
        await Expect(carolRow).ToContainTextAsync($"inbox/{carol}");
        await consoleA.ScreenshotAsync("console-cluster-clients", output);

        await consoleA.Page.ClickAsync("#tabs button[data-tab=subscriptions]");
        await consoleA.Page.FillAsync("#subscription-search-text", carol);
        await consoleA.Page.PressAsync("#subscription-search-text", "Enter");
        var carolInbox = consoleA.Page.Locator("#subscription-rows tr[data-node-id=web-node-b]", new PageLocatorOptions { HasText = $"inbox/{carol}" });
        await Expect(carolInbox).ToHaveCountAsync(1);

        await consoleA.Page.ClickAsync("#tabs button[data-tab=clients]");
        await carolRow.Locator("button", new LocatorLocatorOptions { HasText = "Disconnect" }).ClickAsync();
        await Expect(consoleA.Page.Locator("#toast")).ToContainTextAsync("disconnected");
        await Expect(carolRow).ToHaveCountAsync(0);
        await Poll.UntilAsync(() => !carolOnB.Client.IsConnected, "the client on node B was not disconnected");
        consoleA.AssertNoConsoleErrors();

        // Node A dies without leaving: once its heartbeat key expires (Cluster:NodeTimeout) the live table drops it.
        await nodeA.KillAsync();
        await Expect(console.Page.Locator("#node-rows tr[data-node-id=web-node-a]")).ToHaveCountAsync(0);
        await Expect(console.Page.Locator("#node-rows tr")).ToHaveCountAsync(1);
        console.AssertNoConsoleErrors();
    }

    /// <summary>Polls the node's live set until it lists <paramref name="count"/> nodes (heartbeats of other processes: no event to wait on).</summary>
    private static async Task WaitUntilNodeSeesAsync(BrokerProcess node, int count)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Poll.UntilAsync(async () =>
        {
            var nodes = await http.GetFromJsonAsync<System.Text.Json.JsonElement[]>($"http://127.0.0.1:{node.HttpPort}/api/entry/nodes");
            return nodes?.Length >= count;
        }, $"node did not see {count} live nodes");
    }
}
