using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using MqttIm.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>The chat demo at <c>/</c> in headless Chromium against the real broker: every page over MQTT over WebSocket.</summary>
[Collection(WebCollection.Name)]
public sealed class ChatDemoTests(WebFixture web, ITestOutputHelper output)
{
    [Fact]
    public async Task Two_pages_chat_the_second_sees_the_message_and_its_unread_badge_then_the_first_sees_the_read_receipt()
    {
        var alice = TestUsers.Unique("alice");
        var bob = TestUsers.Unique("bob");
        var conversation = TestUsers.C2c(alice, bob);
        await using var alicePage = await BrowserPage.OpenAsync(web.Browser);
        await using var bobPage = await BrowserPage.OpenAsync(web.Browser);
        await alicePage.SignInAsync(web, alice);
        await bobPage.SignInAsync(web, bob);

        await alicePage.StartChatAsync(bob);
        await alicePage.SendAsync("hello bob");
        // Stored and acknowledged: the pending bubble became seq 1, not yet read.
        await Expect(alicePage.Message(1).Locator(".bubble")).ToHaveTextAsync("hello bob");
        await Expect(alicePage.Message(1).Locator(".receipt")).ToHaveTextAsync("✓ Sent");

        var bobItem = bobPage.Conversation(conversation);
        await Expect(bobItem.Locator(".badge")).ToHaveTextAsync("1");
        await Expect(bobItem.Locator(".conversation-preview")).ToContainTextAsync("hello bob");
        await Expect(bobPage.Page.Locator("#total-unread")).ToHaveTextAsync("1");
        await bobPage.ScreenshotAsync("chat-unread-badge", output);

        await bobItem.ClickAsync();
        await Expect(bobPage.Message(1).Locator(".bubble")).ToHaveTextAsync("hello bob");
        await Expect(bobItem.Locator(".badge")).ToHaveCountAsync(0);

        await Expect(alicePage.Message(1).Locator(".receipt")).ToHaveTextAsync("✓✓ Read");
        await bobPage.SendAsync("hi alice");
        await Expect(alicePage.Message(2).Locator(".bubble")).ToHaveTextAsync("hi alice");
        // Both wrote, so each may watch the other (Presence:WatchPolicy=SharedConversation) and sees the presence dot.
        await Expect(alicePage.Page.Locator("#chat-presence")).ToHaveAttributeAsync("data-online", "true");
        await Expect(bobPage.Page.Locator("#chat-presence")).ToHaveAttributeAsync("data-online", "true");
        await alicePage.ScreenshotAsync("chat-read-receipt", output);
        await bobPage.ScreenshotAsync("chat-conversation", output);

        alicePage.AssertNoConsoleErrors();
        bobPage.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task A_group_message_reaches_three_other_pages()
    {
        var owner = TestUsers.Unique("gown");
        var members = new[] { TestUsers.Unique("gm1"), TestUsers.Unique("gm2"), TestUsers.Unique("gm3") };
        await using var ownerPage = await BrowserPage.OpenAsync(web.Browser);
        var memberPages = new List<BrowserPage>();
        try
        {
            foreach (var member in members)
            {
                var page = await BrowserPage.OpenAsync(web.Browser);
                memberPages.Add(page);
                await page.SignInAsync(web, member);
            }

            // The owner creates the group from the page (im/rpc/group/create); the members' pages learn of it live.
            await ownerPage.SignInAsync(web, owner);
            await ownerPage.Page.ClickAsync("#new-group summary");
            await ownerPage.Page.FillAsync("#new-group-name", "Web team");
            await ownerPage.Page.FillAsync("#new-group-members", string.Join(", ", members));
            await ownerPage.Page.ClickAsync("#new-group-form button[type=submit]");
            await Expect(ownerPage.Page.Locator("#chat")).ToHaveAttributeAsync("data-open", new System.Text.RegularExpressions.Regex("^group:"));
            var conversation = await ownerPage.Page.Locator("#chat").GetAttributeAsync("data-open");
            Assert.StartsWith("group:", conversation);
            var ownerItem = ownerPage.Conversation(conversation!);
            await Expect(ownerItem.Locator(".conversation-title")).ToHaveTextAsync("Web team");
            await ownerPage.SendAsync("hello team");
            await Expect(ownerPage.Page.Locator("#message-list li.msg.mine .bubble")).ToHaveTextAsync("hello team");

            foreach (var page in memberPages)
            {
                var item = page.Conversation(conversation!);
                await Expect(item.Locator(".conversation-title")).ToHaveTextAsync("Web team");
                await Expect(item.Locator(".conversation-preview")).ToContainTextAsync("hello team");
                await Expect(item.Locator(".badge")).ToBeVisibleAsync();
                await item.ClickAsync();
                await Expect(page.Page.Locator("#message-list li.msg.theirs .bubble")).ToHaveTextAsync("hello team");
                await Expect(page.Page.Locator("#message-list li.msg.theirs .sender")).ToHaveTextAsync(owner);
            }

            await memberPages[0].ScreenshotAsync("chat-group", output);
            ownerPage.AssertNoConsoleErrors();
            memberPages.ForEach(p => p.AssertNoConsoleErrors());
        }
        finally
        {
            foreach (var page in memberPages)
            {
                await page.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_page_that_comes_back_catches_up_by_sync()
    {
        var alice = TestUsers.Unique("ralice");
        var bob = TestUsers.Unique("rbob");
        var conversation = TestUsers.C2c(alice, bob);
        await using var alicePage = await BrowserPage.OpenAsync(web.Browser);
        await using var bobPage = await BrowserPage.OpenAsync(web.Browser);
        await alicePage.SignInAsync(web, alice);
        await bobPage.SignInAsync(web, bob);
        await alicePage.StartChatAsync(bob);
        await alicePage.SendAsync("before you left");
        await Expect(bobPage.Conversation(conversation).Locator(".badge")).ToHaveTextAsync("1");

        // Bob's tab leaves the page (its connection closes) and Alice writes twice while he is away.
        await bobPage.Page.GotoAsync("about:blank");
        await alicePage.SendAsync("while you were away 1");
        await Expect(alicePage.Message(2)).ToBeVisibleAsync();
        await alicePage.SendAsync("while you were away 2");
        await Expect(alicePage.Message(3)).ToBeVisibleAsync();

        // Back in the same tab: the session and cursors come from sessionStorage, the new messages by im/rpc/sync.
        await bobPage.Page.GotoAsync(web.BaseUrl + "/");
        await bobPage.WaitCaughtUpAsync();
        await Expect(bobPage.Page.Locator("body")).ToHaveAttributeAsync("data-synced-messages", "2");
        await Expect(bobPage.Conversation(conversation).Locator(".badge")).ToHaveTextAsync("3");
        await bobPage.Conversation(conversation).ClickAsync();
        await Expect(bobPage.Message(3).Locator(".bubble")).ToHaveTextAsync("while you were away 2");
        await Expect(bobPage.Message(1).Locator(".bubble")).ToHaveTextAsync("before you left");

        // A plain reload reconnects with the same device and still shows everything (nothing new to sync).
        await bobPage.Page.ReloadAsync();
        await bobPage.WaitCaughtUpAsync();
        await Expect(bobPage.Page.Locator("body")).ToHaveAttributeAsync("data-synced-messages", "0");
        await bobPage.Conversation(conversation).ClickAsync();
        await Expect(bobPage.Page.Locator("#message-list li.msg")).ToHaveCountAsync(3);
        await bobPage.ScreenshotAsync("chat-after-sync", output);

        alicePage.AssertNoConsoleErrors();
        bobPage.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Edit_and_recall_reach_the_peer_and_older_history_loads_on_scroll_back()
    {
        var alice = TestUsers.Unique("ealice");
        var bob = TestUsers.Unique("ebob");
        var conversation = TestUsers.C2c(alice, bob);
        // 40 older messages from another device of Bob: more than the page loads at first (30).
        await using (var bobDevice = await TestDevice.ConnectAsync(web.Broker, bob))
        {
            for (var i = 1; i <= 40; i++)
            {
                Assert.True((await bobDevice.SendAsync(alice, $"old {i}")).IsSuccess);
            }
        }

        await using var alicePage = await BrowserPage.OpenAsync(web.Browser);
        await using var bobPage = await BrowserPage.OpenAsync(web.Browser);
        await alicePage.SignInAsync(web, alice);
        await bobPage.SignInAsync(web, bob);
        await alicePage.Conversation(conversation).ClickAsync();
        await Expect(alicePage.Message(40)).ToBeVisibleAsync();
        await Expect(alicePage.Message(1)).ToHaveCountAsync(0);
        // Scrolling back to the top loads the older page by im/rpc/history (the "Load older" button does the same).
        await alicePage.Page.Locator("#messages").EvaluateAsync("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }");
        await Expect(alicePage.Message(1).Locator(".bubble")).ToHaveTextAsync("old 1");
        await Expect(alicePage.Page.Locator("#load-older")).ToBeHiddenAsync();

        await alicePage.SendAsync("typo hre");
        await Expect(alicePage.Message(41)).ToBeVisibleAsync();
        await alicePage.SendAsync("to be recalled");
        await Expect(alicePage.Message(42)).ToBeVisibleAsync();
        await bobPage.Conversation(conversation).ClickAsync();
        await Expect(bobPage.Message(42).Locator(".bubble")).ToHaveTextAsync("to be recalled");

        await alicePage.Message(41).Locator(".action-edit").ClickAsync();
        await alicePage.Page.FillAsync("#composer-text", "typo here");
        await alicePage.Page.PressAsync("#composer-text", "Enter");
        await alicePage.Message(42).Locator(".action-recall").ClickAsync();

        await Expect(bobPage.Message(41).Locator(".bubble")).ToHaveTextAsync("typo here");
        await Expect(bobPage.Message(41).Locator(".edited")).ToBeVisibleAsync();
        await Expect(bobPage.Message(42).Locator(".bubble")).ToHaveTextAsync("message recalled");
        await Expect(alicePage.Message(42).Locator(".bubble")).ToHaveTextAsync("message recalled");
        await bobPage.ScreenshotAsync("chat-edit-recall", output);

        alicePage.AssertNoConsoleErrors();
        bobPage.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task On_a_390x844_phone_the_list_and_the_chat_take_turns_without_horizontal_scrolling()
    {
        var carol = TestUsers.Unique("pcarol");
        var dave = TestUsers.Unique("pdave");
        await using var phone = await BrowserPage.OpenAsync(web.Browser, new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
            DeviceScaleFactor = 2,
        });
        await using var davePage = await BrowserPage.OpenAsync(web.Browser);
        await phone.Page.GotoAsync(web.BaseUrl + "/");
        await AssertNoHorizontalScrollAsync(phone.Page);
        await phone.ScreenshotAsync("phone-sign-in", output);
        await phone.SignInAsync(web, carol);
        await davePage.SignInAsync(web, dave);

        await phone.StartChatAsync(dave);
        await Expect(phone.Page.Locator("#sidebar")).ToBeHiddenAsync();
        await Expect(phone.Page.Locator("#back")).ToBeVisibleAsync();
        await phone.SendAsync("from my phone");
        await Expect(phone.Message(1)).ToBeVisibleAsync();
        await davePage.Conversation(TestUsers.C2c(carol, dave)).ClickAsync();
        await davePage.SendAsync("got it");
        await Expect(phone.Message(2).Locator(".bubble")).ToHaveTextAsync("got it");
        await AssertNoHorizontalScrollAsync(phone.Page);
        await phone.ScreenshotAsync("phone-chat", output);

        await phone.Page.TapAsync("#back");
        await Expect(phone.Page.Locator("#sidebar")).ToBeVisibleAsync();
        await Expect(phone.Conversation(TestUsers.C2c(carol, dave))).ToBeVisibleAsync();
        await AssertNoHorizontalScrollAsync(phone.Page);
        await phone.ScreenshotAsync("phone-conversations", output);

        phone.AssertNoConsoleErrors();
        davePage.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task With_Demo_Enabled_the_page_mints_a_demo_token_and_signs_in_with_it()
    {
        var erin = TestUsers.Unique("demo");
        await using var page = await BrowserPage.OpenAsync(web.Browser);
        await page.Page.GotoAsync(web.BaseUrl + "/");
        await Expect(page.Page.Locator("#mint-demo-token")).ToBeVisibleAsync();
        await page.Page.FillAsync("#login-user", erin);
        await page.Page.ClickAsync("#mint-demo-token");
        await Expect(page.Page.Locator("#login-token")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex(@"^ey[\w-]+\.[\w-]+\.[\w-]+$"));
        await page.ScreenshotAsync("chat-sign-in-demo", output);
        await page.Page.ClickAsync("#login-submit");
        await page.WaitCaughtUpAsync();
        await Expect(page.Page.Locator("#me")).ToHaveTextAsync(erin);
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task A_bad_token_is_refused_and_shown_on_the_sign_in_form()
    {
        await using var page = await BrowserPage.OpenAsync(web.Browser);
        await page.Page.GotoAsync(web.BaseUrl + "/");
        await page.Page.FillAsync("#login-user", "mallory");
        await page.Page.FillAsync("#login-token", web.Broker.Token("someone-else"));
        await page.Page.ClickAsync("#login-submit");
        await Expect(page.Page.Locator("#login-error")).ToContainTextAsync("refused");
        await Expect(page.Page.Locator("#login")).ToBeVisibleAsync();
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Without_Demo_Enabled_there_is_no_mint_button_and_no_demo_token_endpoint()
    {
        await using var broker = await BrokerProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}") };
        var mint = await http.PostAsJsonAsync("/api/demo/tokens", new { userId = "x" });
        Assert.Equal(HttpStatusCode.NotFound, mint.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/demo")).StatusCode);

        await using var page = await BrowserPage.OpenAsync(web.Browser);
        await page.Page.GotoAsync($"http://127.0.0.1:{broker.HttpPort}/");
        await Expect(page.Page.Locator("#login-form")).ToBeVisibleAsync();
        var config = await page.Page.EvaluateAsync<bool>("fetch('/api/web-config').then(r => r.json()).then(c => c.demo)");
        Assert.False(config);
        await Expect(page.Page.Locator("#mint-demo-token")).ToBeHiddenAsync();
        page.AssertNoConsoleErrors();
    }

    internal static async Task AssertNoHorizontalScrollAsync(IPage page)
    {
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        var (scroll, client) = (widths[0], widths[1]);
        Assert.True(scroll <= client, $"page is {scroll}px wide in a {client}px viewport");
    }
}
