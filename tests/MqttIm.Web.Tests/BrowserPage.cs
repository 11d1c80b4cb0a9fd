using Microsoft.Playwright;
using Xunit.Abstractions;

namespace MqttIm.Web.Tests;

/// <summary>
/// One page in its own browser context, recording every console error and uncaught exception, so each test can
/// assert that the page ran clean. <see cref="AllowedErrors"/> lists messages a test provokes on purpose.
/// </summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private readonly List<string> _errors = [];

    private BrowserPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add($"console: {message.Text} ({message.Location})");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add($"uncaught: {error}");
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public List<string> AllowedErrors { get; } = [];

    public static async Task<BrowserPage> OpenAsync(IBrowser browser, BrowserNewContextOptions? options = null)
    {
        var context = await browser.NewContextAsync(options ?? new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        return new BrowserPage(context, page);
    }

    /// <summary>Fails with every console error not explicitly allowed.</summary>
    public void AssertNoConsoleErrors()
    {
        lock (_errors)
        {
            var unexpected = _errors.Where(e => !AllowedErrors.Any(e.Contains)).ToList();
            Assert.True(unexpected.Count == 0, "console errors:\n" + string.Join("\n", unexpected));
        }
    }

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    public async Task ScreenshotAsync(string name, ITestOutputHelper output)
    {
        var path = Path.Combine(WebFixture.ScreenshotDirectory, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = false });
        output.WriteLine($"screenshot: {path}");
    }

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}
