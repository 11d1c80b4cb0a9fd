namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// A broker with short session and token limits: sessions expire 6 s after their device left, tokens are honoured 1 s past
/// exp. The sweeper logs each expiry (Information), so a test waits for its own session's, not for any.
/// </summary>
public sealed class SessionSecurityBrokerFixture() : BrokerFixture(
    $"--Sessions:MaxSessionExpiry={MaxSessionExpiry}", "--Sessions:ExpirySweepInterval=00:00:00.200", $"--Auth:ExpiryGrace={ExpiryGrace}",
    "--Logging:LogLevel:MqttIm.ImExtensions.Hooks.SessionExpirySweeper=Information")
{
    public static readonly TimeSpan MaxSessionExpiry = TimeSpan.FromSeconds(6); // the expiry test resumes within it (twice a connect on a loaded machine)
    public static readonly TimeSpan ExpiryGrace = TimeSpan.FromSeconds(1);
}
