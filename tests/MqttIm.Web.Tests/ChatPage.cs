using Microsoft.Playwright;
using MqttIm.Testing;
using static Microsoft.Playwright.Assertions;

namespace MqttIm.Web.Tests;

/// <summary>The chat demo as a user drives it: sign in, open a conversation, send, and the selectors the tests wait on.</summary>
public static class ChatPage
{
    public static async Task SignInAsync(this BrowserPage browser, WebFixture web, string userId)
    {
        var page = browser.Page;
        await page.GotoAsync(web.BaseUrl + "/");
        await page.FillAsync("#login-user", userId);
        await page.FillAsync("#login-token", web.Broker.Token(userId));
        await page.ClickAsync("#login-submit");
        await WaitCaughtUpAsync(browser);
    }

    /// <summary>Online and the first catch-up (conversation list + sync) finished.</summary>
    public static async Task WaitCaughtUpAsync(this BrowserPage browser)
    {
        await Expect(browser.Page.Locator("#connection")).ToHaveAttributeAsync("data-status", "online");
        await Expect(browser.Page.Locator("body")).ToHaveAttributeAsync("data-synced-messages", new System.Text.RegularExpressions.Regex(@"^\d+$"));
    }

    public static ILocator Conversation(this BrowserPage browser, string conversationId) =>
        browser.Page.Locator($"li.conversation[data-conversation=\"{conversationId}\"]");

    public static ILocator Message(this BrowserPage browser, long seq) =>
        browser.Page.Locator($"#message-list li.msg[data-seq=\"{seq}\"]");

    public static async Task StartChatAsync(this BrowserPage browser, string peer)
    {
        await browser.Page.FillAsync("#new-chat-user", peer);
        await browser.Page.PressAsync("#new-chat-user", "Enter");
    }

    public static async Task SendAsync(this BrowserPage browser, string text)
    {
        await browser.Page.FillAsync("#composer-text", text);
        await browser.Page.PressAsync("#composer-text", "Enter");
    }

    public static string C2c(string a, string b) => TestUsers.C2c(a, b);
}
