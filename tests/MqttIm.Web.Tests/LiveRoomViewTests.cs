using Microsoft.Playwright;
using MqttIm.Contracts.V1;
using MqttIm.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>The chat demo's live room view: pages join a room over MQTT over WebSocket, an MQTTnet client publishes into it.</summary>
[Collection(WebCollection.Name)]
public sealed class LiveRoomViewTests(WebFixture web, ITestOutputHelper output)
{
    private static ILocator Feed(BrowserPage page) => page.Page.Locator("#room-feed");

    private static async Task JoinRoomAsync(BrowserPage page, string roomId)
    {
        await page.Page.ClickAsync("#modes button[data-mode=rooms]");
        await page.Page.FillAsync("#room-join-id", roomId);
        await page.Page.PressAsync("#room-join-id", "Enter");
        await Expect(page.Page.Locator("#room")).ToHaveAttributeAsync("data-joined", "true");
    }

    [Fact]
    public async Task Pages_in_a_room_see_chat_and_gifts_from_an_mqtt_publisher_the_viewer_count_and_a_late_joiner_replays_the_gift()
    {
        var roomId = TestUsers.Unique("room");
        var alice = TestUsers.Unique("ralice");
        var bob = TestUsers.Unique("rbob");
        var carol = TestUsers.Unique("rcarol");
        await web.Broker.AdminPostAsync("/api/admin/rooms", new { roomId, title = "Launch party" });

        await using var alicePage = await BrowserPage.OpenAsync(web.Browser);
        await alicePage.SignInAsync(web, alice);
        await JoinRoomAsync(alicePage, roomId);
        await Expect(alicePage.Page.Locator("#room-viewers")).ToHaveTextAsync("1");

        // A plain MQTT client (MQTTnet) publishes a chat message and a gift: frames bring both to the page.
        await using var publisher = await TestDevice.ConnectAsync(web.Broker, carol, subscribeInbox: false);
        var chat = await publisher.PublishAsync($"room/{roomId}", publisher.Encode(new RoomSend { Kind = "chat", Text = "hello from mqtt" }));
        Assert.True(chat.IsSuccess, chat.ReasonString);
        var gift = await publisher.PublishAsync($"room/{roomId}", publisher.Encode(new RoomSend { Kind = "gift", GiftId = "rocket", GiftCount = 2 }));
        Assert.True(gift.IsSuccess, gift.ReasonString);
        await Expect(Feed(alicePage).Locator("li[data-kind=chat]", new LocatorLocatorOptions { HasText = "hello from mqtt" })).ToHaveCountAsync(1);
        await Expect(Feed(alicePage).Locator("li[data-kind=gift][data-seq='1']")).ToContainTextAsync("2 × rocket");

        // A second page, on a phone, joins after the gift: it replays the gift and both pages count two viewers.
        await using var bobPage = await BrowserPage.OpenAsync(web.Browser, Phone);
        await bobPage.SignInAsync(web, bob);
        await JoinRoomAsync(bobPage, roomId);
        await Expect(Feed(bobPage).Locator("li[data-kind=gift][data-seq='1']")).ToContainTextAsync("2 × rocket");
        await Expect(alicePage.Page.Locator("#room-viewers")).ToHaveTextAsync("2");
        await Expect(bobPage.Page.Locator("#room-viewers")).ToHaveTextAsync("2");

        // The phone page sends chat, a gift and a like from the UI; the first page sees them in its frames.
        await bobPage.Page.FillAsync("#room-text", "hi from the phone");
        await bobPage.Page.PressAsync("#room-text", "Enter");
        await Expect(Feed(alicePage).Locator("li[data-kind=chat]", new LocatorLocatorOptions { HasText = "hi from the phone" })).ToHaveCountAsync(1);
        await bobPage.Page.SelectOptionAsync("#room-gift-id", "cake");
        await bobPage.Page.ClickAsync("#room-gift");
        await Expect(Feed(alicePage).Locator("li[data-kind=gift][data-seq='2']")).ToContainTextAsync("1 × cake");
        await bobPage.Page.ClickAsync("#room-like");
        await Expect(alicePage.Page.Locator("#room-likes")).ToHaveTextAsync("1");

        await ChatDemoTests.AssertNoHorizontalScrollAsync(bobPage.Page);
        await bobPage.ScreenshotAsync("phone-room-view", output);
        await alicePage.ScreenshotAsync("chat-room-view", output);

        // Leaving drops the count on the other page.
        await bobPage.Page.ClickAsync("#room-leave");
        await Expect(alicePage.Page.Locator("#room-viewers")).ToHaveTextAsync("1");

        alicePage.AssertNoConsoleErrors();
        bobPage.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Joining_a_room_that_does_not_exist_is_refused_on_the_page()
    {
        await using var page = await BrowserPage.OpenAsync(web.Browser);
        await page.SignInAsync(web, TestUsers.Unique("rnone"));
        await page.Page.ClickAsync("#modes button[data-mode=rooms]");
        await page.Page.FillAsync("#room-join-id", TestUsers.Unique("noroom"));
        await page.Page.PressAsync("#room-join-id", "Enter");
        await Expect(page.Page.Locator("#room")).ToHaveAttributeAsync("data-joined", "refused");
        await Expect(page.Page.Locator("#room-status")).ToContainTextAsync("not joined");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task The_console_creates_a_room_sees_its_viewer_and_moderates_it_and_the_page_follows()
    {
        var roomId = TestUsers.Unique("croom");
        var viewer = TestUsers.Unique("cview");
        await using var console = await BrowserPage.OpenAsync(web.Browser);
        await console.Page.GotoAsync(web.BaseUrl + "/console/");
        await console.Page.FillAsync("#admin-key", web.Broker.AdminKey);
        await console.Page.PressAsync("#admin-key", "Enter");
        await console.Page.ClickAsync("#tabs button[data-tab=rooms]");
        await console.Page.FillAsync("#room-create-id", roomId);
        await console.Page.FillAsync("#room-create-title", "Console room");
        await console.Page.ClickAsync("#room-create button[type=submit]");
        await Expect(console.Page.Locator("#room-detail-title")).ToContainTextAsync($"Console room ({roomId})");
        await Expect(console.Page.Locator("#room-detail-viewers")).ToHaveTextAsync("0");

        await using var page = await BrowserPage.OpenAsync(web.Browser);
        await page.SignInAsync(web, viewer);
        await JoinRoomAsync(page, roomId);
        // The detail refreshes while the tab is open: the viewer shows up in the cluster-wide count.
        await Expect(console.Page.Locator("#room-detail-viewers")).ToHaveTextAsync("1");

        await console.Page.FillAsync("#room-system-text", "welcome, everyone");
        await console.Page.ClickAsync("#room-system-send");
        await Expect(Feed(page).Locator("li[data-kind=system][data-seq='1']")).ToContainTextAsync("welcome, everyone");
        await Expect(console.Page.Locator("#room-detail-seq")).ToHaveTextAsync("1");

        // Mute all: the page's next chat is refused and the page says so.
        await console.Page.ClickAsync("#room-mute-all");
        await Expect(console.Page.Locator("#room-detail-sub")).ToContainTextAsync("all muted");
        await page.Page.FillAsync("#room-text", "can anyone hear me");
        await page.Page.PressAsync("#room-text", "Enter");
        await Expect(page.Page.Locator("#toast")).ToContainTextAsync("muted");
        await console.ScreenshotAsync("console-room", output);

        // Closing the room ends it for the viewer.
        await console.Page.ClickAsync("#room-close");
        await Expect(page.Page.Locator("#room")).ToHaveAttributeAsync("data-joined", "closed");
        await Expect(console.Page.Locator("#room-detail-title")).ToContainTextAsync("closed");
        console.AssertNoConsoleErrors();
        page.AssertNoConsoleErrors();
    }

    internal static BrowserNewContextOptions Phone => new()
    {
        ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        IsMobile = true,
        HasTouch = true,
        DeviceScaleFactor = 2,
    };
}
