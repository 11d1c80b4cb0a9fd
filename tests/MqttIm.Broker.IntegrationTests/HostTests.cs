using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using MQTTnet;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>The host: CLI token verb, admin token API, health and metrics, first-run keys, and failing loudly on a taken port.</summary>
public sealed class HostTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    private HttpClient Http() => new() { BaseAddress = new Uri($"http://127.0.0.1:{_broker.HttpPort}") };

    [Fact]
    public async Task CliToken_IsAcceptedByTheBroker()
    {
        var outcome = await ProcessRunner.RunAsync("dotnet",
            [RepoPaths.BrokerDll, "token", "cliuser", "--ttl", "10m", $"--Storage:DataDirectory={_broker.DataDirectory}", $"--Auth:Hs256Secret={_broker.Secret}"],
            TimeSpan.FromSeconds(60));

        Assert.Equal(0, outcome.ExitCode);
        await using var device = await ConnectWithAsync("cliuser", outcome.StdOut.Trim());
        Assert.True(device.IsConnected);
    }

    [Fact]
    public async Task CliToken_BadArguments_ExitWithUsage()
    {
        var badTtl = await ProcessRunner.RunAsync("dotnet", [RepoPaths.BrokerDll, "token", "alice", "--ttl", "soon"], TimeSpan.FromSeconds(60));
        var badUser = await ProcessRunner.RunAsync("dotnet", [RepoPaths.BrokerDll, "token", "a b"], TimeSpan.FromSeconds(60));

        Assert.Equal(2, badTtl.ExitCode);
        Assert.Contains("usage: token", badTtl.StdErr);
        Assert.Equal(2, badUser.ExitCode);
        Assert.Contains("invalid user id", badUser.StdErr);
    }

    [Fact]
    public async Task AdminTokenApi_RequiresKey_AndMintsWorkingTokens()
    {
        using var http = Http();

        var noKey = await http.PostAsJsonAsync("/api/admin/tokens", new { userId = "apiuser" });
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal("application/problem+json", noKey.Content.Headers.ContentType?.MediaType);

        http.DefaultRequestHeaders.Add("X-Admin-Key", _broker.AdminKey);
        var badUser = await http.PostAsJsonAsync("/api/admin/tokens", new { userId = "bad user" });
        Assert.Equal(HttpStatusCode.BadRequest, badUser.StatusCode);

        var ok = await http.PostAsJsonAsync("/api/admin/tokens", new { userId = "apiuser", ttlSeconds = 600 });
        ok.EnsureSuccessStatusCode();
        var body = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(9));
        await using var device = await ConnectWithAsync("apiuser", body.GetProperty("token").GetString()!);
        Assert.True(device.IsConnected);
    }

    [Fact]
    public async Task Healthz_AndMetrics_AreServed()
    {
        await using (var a = await TestDevice.ConnectAsync(_broker, "metricsuser"))
        {
            await a.SendAsync("someone", "count me");
        }

        using var http = Http();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Matches(@"mqttim_messages_accepted_total [1-9]", metrics);
    }

    [Fact]
    public async Task FirstRun_GeneratesKeysIntoDataDirectory_AndCliUsesThem()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-keys-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // The broker generates its keys when none are configured (the empty values override the fixture's defaults).
            await using var fresh = await BrokerProcess.StartAsync($"--Storage:DataDirectory={dataDirectory}", "--Auth:Hs256Secret=", "--Auth:AdminApiKey=", "--Logging:LogLevel:Default=Information");
            Assert.True(File.Exists(Path.Combine(dataDirectory, "keys", "jwt-hs256.key")));
            Assert.True(File.Exists(Path.Combine(dataDirectory, "keys", "admin.key")));
            Assert.Contains(Path.Combine(dataDirectory, "keys", "jwt-hs256.key"), fresh.Output);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDirectory, "keys", "jwt-hs256.key")));
            }

            var cli = await ProcessRunner.RunAsync("dotnet", [RepoPaths.BrokerDll, "token", "firstrun", $"--Storage:DataDirectory={dataDirectory}"], TimeSpan.FromSeconds(60));
            Assert.Equal(0, cli.ExitCode);
            using var client = new MqttClientFactory().CreateMqttClient();
            var result = await client.ConnectAsync(TestDevice.Options(fresh, "firstrun", cli.StdOut.Trim(), "firstrun-1").Build());
            Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);

            // The fixture's secret is not what this broker generated: its tokens are refused here.
            using var stranger = new MqttClientFactory().CreateMqttClient();
            var refused = await stranger.ConnectAsync(TestDevice.Options(fresh, "firstrun", _broker.Token("firstrun"), "firstrun-2").Build());
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, refused.ResultCode);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task PortAlreadyTaken_ProcessFailsWithClearMessage()
    {
        using var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;

        var outcome = await ProcessRunner.RunAsync("dotnet",
            [RepoPaths.BrokerDll, "--Listen:Address=127.0.0.1", $"--Listen:MqttPort={port}", "--Listen:HttpPort=0",
             $"--Storage:DataDirectory={Path.Combine(_broker.DataDirectory, "second")}", $"--Auth:Hs256Secret={_broker.Secret}", "--Auth:AdminApiKey=x"],
            TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("cannot listen", outcome.StdErr + outcome.StdOut);
        Assert.DoesNotContain("MqttIm ready", outcome.StdOut);
    }

    private async Task<ConnectedClient> ConnectWithAsync(string user, string token)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(TestDevice.Options(_broker, user, token, user + "-" + Guid.NewGuid().ToString("N")[..6]).Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return new ConnectedClient(client);
    }

    private sealed class ConnectedClient(IMqttClient client) : IAsyncDisposable
    {
        public bool IsConnected => client.IsConnected;

        public async ValueTask DisposeAsync()
        {
            await client.DisconnectAsync();
            client.Dispose();
        }
    }
}
