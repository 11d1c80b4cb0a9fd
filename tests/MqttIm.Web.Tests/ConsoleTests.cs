using System.Globalization;
using Microsoft.Playwright;
using MqttIm.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>The operations console at <c>/console/</c> in headless Chromium against the real broker.</summary>
[Collection(WebCollection.Name)]
public sealed class ConsoleTests(WebFixture web, ITestOutputHelper output)
{
    private async Task<BrowserPage> OpenConsoleAsync(string key, BrowserNewContextOptions? options = null)
    {
        var console = await BrowserPage.OpenAsync(web.Browser, options);
        await console.Page.GotoAsync(web.BaseUrl + "/console/");
        await console.Page.FillAsync("#admin-key", key);
        await console.Page.PressAsync("#admin-key", "Enter");
        return console;
    }

    private static async Task<long> ReadCounterAsync(IPage page, string id) =>
        long.Parse(await page.Locator(id).InnerTextAsync(), NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_console_shows_a_connected_client_and_the_message_counter_moving_and_disconnects_it()
    {
        var alice = TestUsers.Unique("calice");
        var bob = TestUsers.Unique("cbob");
        await using var chat = await BrowserPage.OpenAsync(web.Browser);
        await chat.SignInAsync(web, alice);

        await using var console = await OpenConsoleAsync(web.Broker.AdminKey);
        await Expect(console.Page.Locator("#console")).ToBeVisibleAsync();
        await Expect(console.Page.Locator("#m-clients")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[1-9][\d,]*$"));
        var acceptedBefore = await ReadCounterAsync(console.Page, "#m-accepted");

        await chat.StartChatAsync(bob);
        await chat.SendAsync("counted");
        await Expect(chat.Message(1)).ToBeVisibleAsync();
        // The overview polls /api/admin/metrics every second: the counter moves without a reload.
        await Expect(console.Page.Locator("#m-accepted")).Not.ToHaveTextAsync(acceptedBefore.ToString("N0", CultureInfo.InvariantCulture));
        Assert.True(await ReadCounterAsync(console.Page, "#m-accepted") > acceptedBefore);
        await Expect(console.Page.Locator("#chart-rates canvas")).ToHaveCountAsync(1);
        await console.ScreenshotAsync("console-overview", output);

        await console.Page.ClickAsync("#tabs button[data-tab=clients]");
        await console.Page.FillAsync("#client-search-text", alice);
        await console.Page.PressAsync("#client-search-text", "Enter");
        var row = console.Page.Locator("#client-rows tr");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator("td").Nth(1)).ToHaveTextAsync(alice);
        await Expect(row).ToContainTextAsync($"inbox/{alice}");
        await console.ScreenshotAsync("console-clients", output);

        // Disconnect from the console: the page sees its connection drop and reconnects by itself (a second connect).
        await Expect(chat.Page.Locator("body")).ToHaveAttributeAsync("data-connects", "1");
        // Chromium logs this when MQTT.js writes (a PUBACK, a ping) while the broker is closing the socket: the point here.
        chat.AllowedErrors.Add("WebSocket is already in CLOSING or CLOSED state");
        await row.Locator("button", new LocatorLocatorOptions { HasText = "Disconnect" }).ClickAsync();
        await Expect(console.Page.Locator("#toast")).ToContainTextAsync("disconnected");
        await Expect(chat.Page.Locator("body")).ToHaveAttributeAsync("data-connects", "2");
        await Expect(chat.Page.Locator("#connection")).ToHaveAttributeAsync("data-status", "online");

        // Every granted filter of the signed-in page, its inbox included (MQTTnet itself does not store that one).
        await console.Page.ClickAsync("#tabs button[data-tab=subscriptions]");
        await console.Page.FillAsync("#subscription-search-text", alice);
        await console.Page.PressAsync("#subscription-search-text", "Enter");
        await Expect(console.Page.Locator("#subscription-rows")).ToContainTextAsync($"inbox/{alice}");
        await console.ScreenshotAsync("console-subscriptions", output);
        await console.Page.ClickAsync("#tabs button[data-tab=nodes]");
        await Expect(console.Page.Locator("#node-rows tr")).ToHaveCountAsync(1);
        await Expect(console.Page.Locator("#node-note")).ToContainTextAsync("single node");

        chat.AssertNoConsoleErrors();
        console.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Groups_tokens_and_presence_are_administered_from_the_console()
    {
        var owner = TestUsers.Unique("cown");
        var member = TestUsers.Unique("cmem");
        var groupId = TestUsers.Unique("cgrp");
        await using var console = await OpenConsoleAsync(web.Broker.AdminKey);
        await console.Page.ClickAsync("#tabs button[data-tab=groups]");
        await console.Page.FillAsync("#group-create-id", groupId);
        await console.Page.FillAsync("#group-create-name", "Ops group");
        await console.Page.FillAsync("#group-create-owner", owner);
        await console.Page.FillAsync("#group-create-members", member);
        await console.Page.ClickAsync("#group-create button[type=submit]");
        await Expect(console.Page.Locator("#group-detail-title")).ToHaveTextAsync($"Ops group ({groupId})");
        await Expect(console.Page.Locator("#group-members tr")).ToHaveCountAsync(2);
        await console.Page.FillAsync("#group-rename-name", "Ops group renamed");
        await console.Page.ClickAsync("#group-rename");
        await Expect(console.Page.Locator("#group-detail-title")).ToHaveTextAsync($"Ops group renamed ({groupId})");
        await console.ScreenshotAsync("console-groups", output);

        // The group really exists on the broker with the new name.
        using var http = web.Broker.Http();
        var info = await http.GetStringAsync($"/api/admin/groups/{groupId}");
        Assert.Contains("Ops group renamed", info);

        await console.Page.ClickAsync("#tabs button[data-tab=tokens]");
        await console.Page.FillAsync("#token-user", member);
        await console.Page.ClickAsync("#token-form button[type=submit]");
        await Expect(console.Page.Locator("#token-output")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex(@"^ey"));
        var token = await console.Page.Locator("#token-output").InputValueAsync();
        // The minted token signs the member in on the chat page.
        await using var chat = await BrowserPage.OpenAsync(web.Browser);
        await chat.Page.GotoAsync(web.BaseUrl + "/");
        await chat.Page.FillAsync("#login-user", member);
        await chat.Page.FillAsync("#login-token", token);
        await chat.Page.ClickAsync("#login-submit");
        await chat.WaitCaughtUpAsync();
        await Expect(chat.Conversation("group:" + groupId)).ToBeVisibleAsync();

        await console.Page.ClickAsync("#tabs button[data-tab=presence]");
        await console.Page.FillAsync("#presence-users", $"{member},{owner}");
        await console.Page.ClickAsync("#presence-form button[type=submit]");
        await Expect(console.Page.Locator("#presence-rows tr")).ToHaveCountAsync(2);
        await Expect(console.Page.Locator("#presence-rows tr").First).ToContainTextAsync("online");
        await Expect(console.Page.Locator("#presence-rows tr").Nth(1)).ToContainTextAsync("offline");

        console.AssertNoConsoleErrors();
        chat.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task A_wrong_admin_key_is_refused_with_401_and_shown()
    {
        await using var console = await OpenConsoleAsync("not-the-key");
        await Expect(console.Page.Locator("#key-error")).ToContainTextAsync("401");
        await Expect(console.Page.Locator("#console")).ToBeHiddenAsync();
        var stored = await console.Page.EvaluateAsync<string?>("sessionStorage.getItem('mqttim.adminKey')");
        Assert.Null(stored);
        Assert.DoesNotContain("not-the-key", console.Page.Url);
        await console.ScreenshotAsync("console-wrong-key", output);
        // Chromium logs every refused request as a console error; that one is the point of this test, nothing else is allowed.
        Assert.Contains(console.Errors, e => e.Contains("status of 401"));
        console.AllowedErrors.Add("status of 401");
        console.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task The_console_fits_a_390x844_phone()
    {
        await using var console = await OpenConsoleAsync(web.Broker.AdminKey, new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
            DeviceScaleFactor = 2,
        });
        await Expect(console.Page.Locator("#m-clients")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d[\d,]*$"));
        await Expect(console.Page.Locator("#chart-rates canvas")).ToHaveCountAsync(1);
        await ChatDemoTests.AssertNoHorizontalScrollAsync(console.Page);
        await console.ScreenshotAsync("phone-console", output);
        // Every tab, the new operations views included, fits without horizontal scrolling (wide tables scroll inside their box).
        foreach (var tab in new[] { "clients", "subscriptions", "groups", "rooms", "devices", "push", "tokens", "presence", "nodes" })
        {
            await console.Page.ClickAsync($"#tabs button[data-tab={tab}]");
            await Expect(console.Page.Locator($"[data-view={tab}]")).ToBeVisibleAsync();
            await ChatDemoTests.AssertNoHorizontalScrollAsync(console.Page);
            if (tab is "rooms" or "devices" or "push")
            {
                await console.ScreenshotAsync($"phone-console-{tab}", output);
            }
        }

        console.AssertNoConsoleErrors();
    }
}
