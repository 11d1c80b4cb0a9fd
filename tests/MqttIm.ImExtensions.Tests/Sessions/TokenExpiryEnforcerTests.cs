using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Sessions;

/// <summary>
/// The one shared timer of <see cref="TokenExpiryEnforcer"/>: each connection is disarmed exactly when its own token
/// (+ grace) runs out, whatever order connections come in, and a later connection of the same client id keeps its own
/// expiry. (The devices are not in the registry, so the due connection is only disarmed, not kicked: the kick over a
/// real socket is SessionSecurityTests.Connection_IsClosed_WhenItsTokenExpires.)
/// </summary>
public sealed class TokenExpiryEnforcerTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _clock = new();
    private readonly RecordingCloser _closer = new();
    private readonly TokenExpiryEnforcer _enforcer;

    public TokenExpiryEnforcerTests()
    {
        _enforcer = new TokenExpiryEnforcer(new ConnectedDeviceRegistry(), _closer, _clock,
            Options.Create(new AuthOptions { ExpiryGrace = Grace }), NullLogger<TokenExpiryEnforcer>.Instance);
    }

    public void Dispose()
    {
        _enforcer.Dispose();
        Assert.Empty(_closer.Closed); // none of these devices is in the registry: disarmed, never closed
    }

    private ConnectedDevice Connect(string clientId, string key, TimeSpan tokenLifetime)
    {
        var device = new ConnectedDevice("u-" + clientId, clientId, IsMqtt5: true, WireFormat.Json, key);
        _enforcer.Validated(clientId, _clock.GetUtcNow() + tokenLifetime);
        _enforcer.Connected(device);
        return device;
    }

    [Fact]
    public void EachConnection_IsDue_AtItsOwnExpiryPlusGrace_InAnyOrder()
    {
        Connect("late", "a:1", TimeSpan.FromMinutes(10));
        Connect("early", "a:2", TimeSpan.FromMinutes(1));
        Connect("middle", "a:3", TimeSpan.FromMinutes(5));
        Assert.Equal(3, _enforcer.ArmedCount);

        _clock.Advance(TimeSpan.FromMinutes(1) + Grace - TimeSpan.FromMilliseconds(1));
        Assert.Equal(3, _enforcer.ArmedCount);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, _enforcer.ArmedCount);

        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(1, _enforcer.ArmedCount);
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, _enforcer.ArmedCount);
    }

    [Fact]
    public void Disconnected_Disarms_OnlyThatConnection()
    {
        Connect("phone", "a:1", TimeSpan.FromMinutes(1));
        _enforcer.Disconnected("phone", "other:9"); // a stale disconnect of an older connection
        Assert.Equal(1, _enforcer.ArmedCount);

        _enforcer.Disconnected("phone", "a:1");
        Assert.Equal(0, _enforcer.ArmedCount);
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(0, _enforcer.ArmedCount);
    }

    [Fact]
    public void Reconnect_WithAFreshToken_KeepsTheNewExpiry_NotTheOldOne()
    {
        Connect("phone", "a:1", TimeSpan.FromMinutes(1));
        Connect("phone", "a:2", TimeSpan.FromMinutes(30));

        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, _enforcer.ArmedCount); // the first connection's expiry passed, but it was replaced

        _enforcer.Disconnected("phone", "a:1");
        Assert.Equal(1, _enforcer.ArmedCount);
        _clock.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(0, _enforcer.ArmedCount);
    }

    [Fact]
    public void ManyShortConnections_DoNotPileUpInTheQueue()
    {
        for (var i = 0; i < 5_000; i++)
        {
            Connect("churn", "a:" + i, TimeSpan.FromHours(1));
            _enforcer.Disconnected("churn", "a:" + i);
        }

        Connect("kept", "k:1", TimeSpan.FromMinutes(1));
        Assert.Equal(1, _enforcer.ArmedCount);
        Assert.InRange(_enforcer.QueuedCount, 1, 2 * 1 + 1024 + 1); // compacted as it went, not 5,001 entries
        _clock.Advance(TimeSpan.FromMinutes(1) + Grace);
        Assert.Equal(0, _enforcer.ArmedCount);
    }
}
