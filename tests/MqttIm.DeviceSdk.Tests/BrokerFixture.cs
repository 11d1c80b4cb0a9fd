using MqttIm.Testing;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>One real broker process per test class; each test uses its own fresh user ids.</summary>
public class BrokerFixture : IAsyncLifetime
{
    private BrokerProcess? _broker;

    public BrokerProcess Broker => _broker ?? throw new InvalidOperationException("broker not started");

    public async Task InitializeAsync() => _broker = await BrokerProcess.StartAsync(BrokerArgs);

    /// <summary>Extra broker configuration (command-line arguments) of this fixture.</summary>
    protected virtual string[] BrokerArgs => [];

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }

    /// <summary>A user id no other test uses.</summary>
    public static string NewUser(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];

    public MqttImClientOptions Options(string userId) => new()
    {
        Host = "127.0.0.1",
        Port = Broker.MqttPort,
        UserId = userId,
        AccessToken = Broker.Token(userId),
        RequestTimeout = TimeSpan.FromSeconds(10),
    };

    public async Task<MqttImClient> ConnectAsync(string userId, Action<MqttImClientOptions>? configure = null)
    {
        var options = Options(userId);
        configure?.Invoke(options);
        var client = new MqttImClient();
        try
        {
            await client.ConnectAsync(options).WaitAsync(TimeSpan.FromSeconds(20));
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}
