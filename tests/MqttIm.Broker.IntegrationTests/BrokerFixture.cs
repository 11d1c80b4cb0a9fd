using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// One broker process per test class, on the defaults; a test class that needs other settings declares its own fixture
/// as <c>sealed class XFixture() : BrokerFixture("--Section:Key=value", …)</c>.
/// </summary>
public class BrokerFixture : IAsyncLifetime
{
    private readonly string[] _args;

    public BrokerFixture()
        : this([])
    {
    }

    protected BrokerFixture(params string[] args) => _args = args;

    public BrokerProcess Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await BrokerProcess.StartAsync(_args);

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}
