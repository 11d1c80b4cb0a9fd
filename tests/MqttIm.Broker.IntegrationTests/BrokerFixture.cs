using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>One broker process per test class.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    public BrokerProcess Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await BrokerProcess.StartAsync();

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}
