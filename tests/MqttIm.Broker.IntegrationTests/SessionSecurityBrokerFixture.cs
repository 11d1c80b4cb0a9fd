using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>A broker with short session and token limits: sessions expire 3 s after their device left, tokens are honoured 1 s past exp.</summary>
public sealed class SessionSecurityBrokerFixture : IAsyncLifetime
{
    public static readonly TimeSpan MaxSessionExpiry = TimeSpan.FromSeconds(6); // the expiry test resumes within it (twice a connect on a loaded machine)
    public static readonly TimeSpan ExpiryGrace = TimeSpan.FromSeconds(1);

    public BrokerProcess Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await BrokerProcess.StartAsync(
        $"--Sessions:MaxSessionExpiry={MaxSessionExpiry}",
        "--Sessions:ExpirySweepInterval=00:00:00.200",
        $"--Auth:ExpiryGrace={ExpiryGrace}");

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}
