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

    internal static BrowserNewContextOptions Phone => new()
    {
        ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        IsMobile = true,
        HasTouch = true,
        DeviceScaleFactor = 2,
    };
}
