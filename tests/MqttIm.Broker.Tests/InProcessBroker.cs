using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MqttIm.Broker.Hosting;
using MqttIm.ImExtensions.Auth;
using MqttIm.Testing;

namespace MqttIm.Broker.Tests;

/// <summary>
/// The whole broker in this process (real Kestrel listener on a free loopback port, its own temp data directory), for
/// tests that must reach inside it: hold a store call at an exact point, or read a service's internal state.
/// </summary>
internal sealed class InProcessBroker : ITestBroker, IAsyncDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("mqttim-inproc-").FullName;
    private WebApplication? _app;

    public int MqttPort { get; private set; }

    public int HttpPort { get; private set; }

    public IServiceProvider Services => _app!.Services;

    /// <param name="replace">Registrations added after the broker's own (the last registration of a service wins).</param>
    public async Task StartAsync(Action<IServiceCollection>? replace = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Listen:Address"] = "127.0.0.1",
            ["Listen:MqttPort"] = "0",
            ["Listen:HttpPort"] = "0",
            ["Storage:DataDirectory"] = _dataDirectory,
            ["Auth:Hs256Secret"] = "in-process-broker-test-secret-0123456789abcdef0123",
            ["Auth:AdminApiKey"] = "in-process-admin",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddMqttImBroker();
        replace?.Invoke(builder.Services);
        _app = builder.Build();
        _app.UseMqttImBroker();
        await _app.StartAsync();
        var bound = _app.Services.GetRequiredService<BoundEndpoints>();
        MqttPort = BoundEndpoints.PortOf(bound.Mqtt);
        HttpPort = BoundEndpoints.PortOf(bound.Http);
    }

    public string Token(string userId, TimeSpan? lifetime = null) => Services.GetRequiredService<JwtTokenIssuer>().Issue(userId, lifetime).Token;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // a file still open on a slow shutdown: the temp directory is left behind, nothing else
        }
    }
}
