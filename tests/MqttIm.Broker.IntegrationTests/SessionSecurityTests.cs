using System.Text.RegularExpressions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 7: a user can never take, park on or block another user's client id (also after a restart), persistent sessions
/// expire after Sessions:MaxSessionExpiry, and a connection is closed when its token expires.
/// Tests here leave no persistent session behind: the expiry test waits on the broker's count of expired sessions.
/// </summary>
public sealed partial class SessionSecurityTests(SessionSecurityBrokerFixture fixture) : IClassFixture<SessionSecurityBrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    public static TheoryData<MqttProtocolVersion> Versions => new() { MqttProtocolVersion.V311, MqttProtocolVersion.V500 };

    public static TheoryData<MqttProtocolVersion, Transport> VersionsAndTransports => new()
    {
        { MqttProtocolVersion.V311, Transport.Tcp },
        { MqttProtocolVersion.V500, Transport.Tcp },
        { MqttProtocolVersion.V311, Transport.WebSocket },
        { MqttProtocolVersion.V500, Transport.WebSocket },
    };

    private static MqttClientOptions PersistentOptions(BrokerProcess broker, string user, string clientId, MqttProtocolVersion version, string? token = null)
    {
        var builder = TestDevice.Options(broker, user, token ?? broker.Token(user), clientId, version).WithCleanSession(false);
        if (version == MqttProtocolVersion.V500)
        {
            builder.WithSessionExpiryInterval(3600); // asks for an hour; the broker caps it
        }

        return builder.Build();
    }

    private static async Task<MqttClientConnectResult> ConnectOnceAsync(MqttClientOptions options)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(options);
        if (client.IsConnected)
        {
            await client.DisconnectAsync();
        }

        return result;
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task OfflineUsersClientId_CannotBeParkedOn_ByAnotherUser(MqttProtocolVersion version)
    {
        var (alice, mallory) = (TestUsers.Unique("alice"), TestUsers.Unique("mallory"));
        var deviceId = alice + "-phone";
        // Alice's phone was here once with a clean session, and is offline now: MQTTnet holds no session for the id.
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectOnceAsync(TestDevice.Options(_broker, alice, _broker.Token(alice), deviceId, version).Build())).ResultCode);

        // Mallory tries to park a persistent session on it (3.1.1 clean session 0, and MQTT 5 with an expiry).
        foreach (var malloryVersion in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
        {
            var squat = await ConnectOnceAsync(PersistentOptions(_broker, mallory, deviceId, malloryVersion));
            Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid, squat.ResultCode);
        }

        // Alice still gets in with her id (clean: this class counts expired sessions, so it leaves none behind).
        var back = await ConnectOnceAsync(TestDevice.Options(_broker, alice, _broker.Token(alice), deviceId, version).Build());
        Assert.Equal(MqttClientConnectResultCode.Success, back.ResultCode);
    }

    [Fact]
    public async Task ClientIdBinding_HoldsAfterRestart()
    {
        var (alice, mallory) = (TestUsers.Unique("alice"), TestUsers.Unique("mallory"));
        var deviceId = alice + "-tablet";
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectOnceAsync(TestDevice.Options(_broker, alice, _broker.Token(alice), deviceId).Build())).ResultCode);

        await _broker.KillAsync();
        await _broker.RestartAsync();

        Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid,
            (await ConnectOnceAsync(PersistentOptions(_broker, mallory, deviceId, MqttProtocolVersion.V311))).ResultCode);
        Assert.Equal(MqttClientConnectResultCode.Success,
            (await ConnectOnceAsync(TestDevice.Options(_broker, alice, _broker.Token(alice), deviceId).Build())).ResultCode);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task PersistentSession_IsDeleted_AfterMaxSessionExpiry(MqttProtocolVersion version)
    {
        var user = TestUsers.Unique("parker");
        var clientId = user + "-dev";
        var options = PersistentOptions(_broker, user, clientId, version);

        // Counted before the session exists: read after the last disconnect, a slow /metrics answer on a loaded machine
        // could already include this expiry, and the wait below would then wait for one that never comes.
        var expiredBefore = await ExpiredSessionsAsync();

        // While within the maximum, the session is kept (control).
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectOnceAsync(options)).ResultCode);
        var resumed = await ConnectOnceAsync(options);
        Assert.True(resumed.IsSessionPresent, "a persistent session resumed right away is still there");

        // Waits (polling every 100 ms, bounded) for the sweeper's log line of this session's expiry: the metric alone could
        // move for another session. Generous: each check and the sweeper's tick can take seconds at load average 40.
        var deadline = DateTime.UtcNow + SessionSecurityBrokerFixture.MaxSessionExpiry + TimeSpan.FromSeconds(60);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!_broker.Output.Contains($"Session {clientId} expired", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the session was not expired within Sessions:MaxSessionExpiry; the broker's lines about it:\n{LinesAbout(clientId)}");
            await poll.WaitForNextTickAsync();
        }

        var expired = await ExpiredSessionsAsync();
        Assert.True(expired > expiredBefore, $"expired, but mqttim_sessions_expired_total did not move ({expiredBefore} before, {expired} now)");

        var after = await ConnectOnceAsync(options);
        Assert.Equal(MqttClientConnectResultCode.Success, after.ResultCode);
        Assert.False(after.IsSessionPresent, "the session outlived its expiry; the broker's lines about it:\n" + LinesAbout(clientId));

        // A clean start ends the session just made, so no later test sees it expire.
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectOnceAsync(TestDevice.Options(_broker, user, _broker.Token(user), clientId, version).Build())).ResultCode);
    }

    [Theory]
    [MemberData(nameof(VersionsAndTransports))]
    public async Task Connection_IsClosed_WhenItsTokenExpires(MqttProtocolVersion version, Transport transport)
    {
        var user = TestUsers.Unique("shorty");
        // Long enough to connect and subscribe on a loaded machine (with 8 s, at load average 25-40, the SUBSCRIBE could
        // meet a connection already closed for its expired token).
        var token = _broker.Issuer.Issue(user, TimeSpan.FromSeconds(12));
        using var client = new MqttClientFactory().CreateMqttClient();
        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += args =>
        {
            disconnected.TrySetResult(args);
            return Task.CompletedTask;
        };
        var result = await client.ConnectAsync(TestDevice.Options(_broker, user, token.Token, user + "-dev", version, transport).Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);

        // It works until the token runs out …
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, (await client.SubscribeAsync($"inbox/{user}", MqttQualityOfServiceLevel.AtLeastOnce)).Items.Single().ResultCode);

        // … and is closed by the broker once exp + Auth:ExpiryGrace has passed.
        var args = await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(DateTimeOffset.UtcNow >= token.ExpiresAt, "closed before the token expired");
        Assert.True(args.ClientWasConnected);
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MqttClientDisconnectReason.NotAuthorized, args.Reason);
            Assert.Contains("expired", args.ReasonString);
        }
    }

    private string LinesAbout(string clientId) =>
        string.Join("\n", _broker.Output.Split('\n').Where(line => line.Contains(clientId, StringComparison.Ordinal)).TakeLast(20));

    private async Task<double> ExpiredSessionsAsync()
    {
        using var http = _broker.Http();
        var match = ExpiredMetric().Match(await http.GetStringAsync("/metrics"));
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex(@"(?m)^mqttim_sessions_expired_total (\S+)$")]
    private static partial Regex ExpiredMetric();
}
