using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Sessions;

public sealed class SessionExpiryTrackerTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly SessionExpiryTracker _tracker;

    public SessionExpiryTrackerTests()
    {
        _tracker = new SessionExpiryTracker(Options.Create(new SessionOptions { MaxSessionExpiry = TimeSpan.FromSeconds(30) }), _clock);
    }

    [Fact]
    public void PersistentSession_Expires_AfterTheCappedInterval()
    {
        _tracker.Connecting("dev", "127.0.0.1:1000", cleanSession: false, expirySeconds: 10);
        _tracker.Connected("dev");
        _tracker.Disconnected("dev", "127.0.0.1:1000");

        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(_tracker.TakeExpired());
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["dev"], _tracker.TakeExpired());
    }

    [Fact]
    public void NeverExpiring_Or_311Session_IsCappedAtTheMaximum()
    {
        _tracker.Connecting("v5", "a:1", cleanSession: false, expirySeconds: uint.MaxValue);
        _tracker.Connecting("v311", "a:2", cleanSession: false, expirySeconds: 0);
        _tracker.Disconnected("v5", "a:1");
        _tracker.Disconnected("v311", "a:2");

        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(_tracker.TakeExpired());
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["v311", "v5"], _tracker.TakeExpired().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LateDisconnect_OfAReplacedConnection_DoesNotLoseTheNewConnectionsSession()
    {
        // A quick reconnect: the new connection is validated before the old one's disconnect is reported.
        _tracker.Connecting("dev", "127.0.0.1:1000", cleanSession: false, expirySeconds: 0);
        _tracker.Connected("dev");
        _tracker.Connecting("dev", "127.0.0.1:1001", cleanSession: false, expirySeconds: 0);
        _tracker.Disconnected("dev", "127.0.0.1:1000");
        _tracker.Connected("dev");
        _tracker.Disconnected("dev", "127.0.0.1:1001");

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(["dev"], _tracker.TakeExpired());
    }

    [Fact]
    public void CleanSession_IsNotTracked()
    {
        _tracker.Connecting("dev", "a:1", cleanSession: true, expirySeconds: 0);
        _tracker.Disconnected("dev", "a:1");
        _clock.Advance(TimeSpan.FromDays(1));
        Assert.Empty(_tracker.TakeExpired());
    }

    [Fact]
    public void Reconnect_BeforeExpiry_KeepsTheSession()
    {
        _tracker.Connecting("dev", "a:1", cleanSession: false, expirySeconds: 5);
        _tracker.Disconnected("dev", "a:1");
        _clock.Advance(TimeSpan.FromSeconds(4));
        _tracker.Connecting("dev", "a:2", cleanSession: false, expirySeconds: 5);
        _tracker.Connected("dev");
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(_tracker.TakeExpired());
    }
}
