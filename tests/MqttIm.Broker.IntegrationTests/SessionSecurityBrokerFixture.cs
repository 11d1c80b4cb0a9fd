namespace MqttIm.Broker.IntegrationTests;

/// <summary>A broker with short session and token limits: sessions expire 6 s after their device left, tokens are honoured 1 s past exp.</summary>
public sealed class SessionSecurityBrokerFixture() : BrokerFixture(
    $"--Sessions:MaxSessionExpiry={MaxSessionExpiry}", "--Sessions:ExpirySweepInterval=00:00:00.200", $"--Auth:ExpiryGrace={ExpiryGrace}")
{
    public static readonly TimeSpan MaxSessionExpiry = TimeSpan.FromSeconds(6); // the expiry test resumes within it (twice a connect on a loaded machine)
    public static readonly TimeSpan ExpiryGrace = TimeSpan.FromSeconds(1);
}
