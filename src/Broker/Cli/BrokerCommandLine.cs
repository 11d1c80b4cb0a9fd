using System.CommandLine;
using MqttIm.Broker.Hosting;

namespace MqttIm.Broker.Cli;

/// <summary>
/// Verbs and flags (System.CommandLine): no verb runs the broker, <c>token</c> mints an access token,
/// <c>device …</c> calls the device admin API of a running broker. Every token the
/// parser does not know (<c>--Listen:MqttPort=1884</c>, <c>--Auth:Hs256Secret …</c>) is configuration and goes to the one
/// shared pipeline (<see cref="MqttImConfiguration"/>), so a verb reads exactly what the broker reads.
/// </summary>
internal static class BrokerCommandLine
{
    public static Task<int> InvokeAsync(string[] args)
    {
        // The host handles SIGTERM/Ctrl+C itself (graceful shutdown); the parser must not race it.
        return Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>The whole command tree; tests parse with it.</summary>
    internal static RootCommand Create()
    {
        var userId = new Argument<string>("userId") { Description = "the user the token is for (the MQTT username)" };
        var ttl = new Option<string?>("--ttl") { Description = "lifetime: 90s, 30m, 12h, 7d or hh:mm:ss (default Auth:DefaultTokenLifetime, at most Auth:MaxTokenLifetime)" };
        var token = new Command("token", "Print an access token signed with the broker's keys (same configuration as the broker)") { userId, ttl };
        token.TreatUnmatchedTokensAsErrors = false;
        token.SetAction(parsed => TokenCommand.Run(parsed.GetValue(userId)!, parsed.GetValue(ttl), MqttImConfiguration.Build(parsed.UnmatchedTokens)));

        var root = new RootCommand("MqttIm: an MQTT broker that is also an instant-messaging backbone. Settings: --Section:Key=value (see README).")
        {
            token,
            DeviceCommand.Create(),
        };
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction((parsed, _) => BrokerHost.RunAsync(parsed.UnmatchedTokens));
        return root;
    }
}
