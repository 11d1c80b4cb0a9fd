using Microsoft.Playwright;
using MqttIm.Testing;

namespace MqttIm.Web.Tests;

/// <summary>
/// One broker (with <c>Demo:Enabled=true</c>) and one headless Chromium for a test class. Chromium is Debian's
/// (<c>/usr/bin/chromium</c>): Playwright's own browser download is never used. Every test opens its own browser
/// contexts, so each page has its own sessionStorage (one signed-in user per context).
/// </summary>
public sealed class WebFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private string _pushSecretPath = "";

    public BrokerProcess Broker { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public string BaseUrl => $"http://127.0.0.1:{Broker.HttpPort}";

    /// <summary>Where the tests write their screenshots (printed in the test output).</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        // Expectations poll until they hold; 5 s (the default) is short on a loaded 2-core machine, so allow 20 s.
        Assertions.SetDefaultExpectTimeout(20_000);
        // One push vendor app, so the push bridge is active and the console's push views have outcomes to show: tokens of
        // other apps end as no_channel, users without tokens as no_token. Its URLs point nowhere: nothing leaves the machine.
        _pushSecretPath = Path.Combine(Path.GetTempPath(), $"mqttim-web-hms-{Guid.NewGuid():N}.secret");
        await File.WriteAllTextAsync(_pushSecretPath, "web-tests-secret");
        Broker = await BrokerProcess.StartAsync("--Demo:Enabled=true",
            "--Push:Hms:0:AppId=web-tests-app", $"--Push:Hms:0:ClientSecretPath={_pushSecretPath}",
            "--Push:Hms:0:TokenUrl=http://127.0.0.1:9/token", "--Push:Hms:0:BaseUrl=http://127.0.0.1:9");
        Playwright = await LaunchPlaywrightAsync();
        Browser = await LaunchChromiumAsync(Playwright);
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Broker.DisposeAsync();
        File.Delete(_pushSecretPath);
    }

    public static async Task<IPlaywright> LaunchPlaywrightAsync()
    {
        // The driver (node + the playwright package) ships inside the Microsoft.Playwright NuGet package; no download.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        return await Microsoft.Playwright.Playwright.CreateAsync();
    }

    public static Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright)
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: apt-get install chromium (scripts/test.sh does)");
        }

        return playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Root in a container has no user namespaces for Chromium's sandbox; the pages are our own.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
            Timeout = 60_000,
        });
    }
}
