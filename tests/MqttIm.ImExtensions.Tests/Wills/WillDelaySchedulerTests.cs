using System.Collections;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MQTTnet.Formatter;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Wills;

namespace MqttIm.ImExtensions.Tests.Wills;

/// <summary>When a will goes out: after min(Will Delay, Session Expiry), never after a normal DISCONNECT, cancelled by a resume.</summary>
public sealed class WillDelaySchedulerTests : IDisposable
{
    private const string Connection = "127.0.0.1:5000";
    private readonly FakeTimeProvider _clock = new();
    private readonly RecordingPublisher _published = new();
    private readonly ConnectedDeviceRegistry _registry = new();
    private readonly WillDelayScheduler _wills;

    public WillDelaySchedulerTests()
    {
        _wills = new WillDelayScheduler(_published, _registry, Options.Create(new SessionOptions { MaxSessionExpiry = TimeSpan.FromHours(1) }),
            _clock, NullLogger<WillDelayScheduler>.Instance);
    }

    public void Dispose() => _wills.Dispose();

    [Fact]
    public void DelayedWill_IsPublished_OnlyOnceTheDelayHasPassed()
    {
        var session = Connect("dev", Connection, Will(delaySeconds: 10), sessionExpirySeconds: 3600);

        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        _clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Empty(_published.Wills);
        Assert.Equal(1, _wills.Pending);

        _clock.Advance(TimeSpan.FromSeconds(0.1));
        var (will, clientId, publisher) = Assert.Single(_published.Wills);
        Assert.Equal("status/dev", will.Topic);
        Assert.Equal("dev", clientId);
        Assert.Equal("dev", publisher?.ClientId); // the registered device, for its ACL
        Assert.Equal(0, _wills.Pending);
        Assert.NotNull(session[WillPublication.SessionTokenKey]);
    }

    [Fact]
    public void SessionExpiryShorterThanTheDelay_PublishesWhenTheSessionEnds()
    {
        Connect("dev", Connection, Will(delaySeconds: 600), sessionExpirySeconds: 5);

        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(_published.Wills);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Single(_published.Wills);
    }

    [Fact]
    public void SessionExpiryChangedOnDisconnect_Counts()
    {
        Connect("dev", Connection, Will(delaySeconds: 600), sessionExpirySeconds: 3600);
        _wills.SessionExpiryChanged(Connection, 2);

        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Single(_published.Wills);
    }

    [Theory]
    [InlineData(0u, 3600u)] // no delay
    [InlineData(30u, 0u)] // the session ends with the connection
    public void NoDelayOrNoSession_PublishesAtOnce(uint delaySeconds, uint sessionExpirySeconds)
    {
        Connect("dev", Connection, Will(delaySeconds), sessionExpirySeconds);

        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        Assert.Single(_published.Wills);
        Assert.Equal(0, _wills.Pending);
    }

    [Fact]
    public void NormalDisconnect_DeletesTheWill()
    {
        Connect("dev", Connection, Will(delaySeconds: 0), sessionExpirySeconds: 0);

        _wills.Disconnected("dev", Connection, WillConnectionEnd.NormalDisconnect);
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Empty(_published.Wills);
    }

    [Fact]
    public void ResumingReconnect_WithinTheDelay_CancelsTheWill()
    {
        var session = Connect("dev", Connection, Will(delaySeconds: 10), sessionExpirySeconds: 3600);
        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        _clock.Advance(TimeSpan.FromSeconds(5));

        // MQTTnet resumed the session: the same session items come with the new connection.
        _wills.Connected("dev", "127.0.0.1:5001", session);
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Empty(_published.Wills);
        Assert.Equal(0, _wills.Pending);
    }

    [Fact]
    public void CleanStartReconnect_WithinTheDelay_PublishesAtOnce_TheOldSessionEnded()
    {
        Connect("dev", Connection, Will(delaySeconds: 10), sessionExpirySeconds: 3600);
        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);

        _wills.Connected("dev", "127.0.0.1:5001", new ConcurrentDictionary<object, object>()); // a new session
        Assert.Single(_published.Wills);
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Single(_published.Wills);
    }

    [Fact]
    public void Takeover_ResumingTheSession_SendsNoWill_WithADelay()
    {
        var session = Connect("dev", Connection, Will(delaySeconds: 10), sessionExpirySeconds: 3600);

        // MQTTnet reports the old connection taken over before the new one is connected.
        _wills.Disconnected("dev", Connection, WillConnectionEnd.Takeover);
        _wills.Connected("dev", "127.0.0.1:5001", session);
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Empty(_published.Wills);
    }

    [Fact]
    public void Takeover_WithoutDelay_SendsTheWillAtOnce()
    {
        var session = Connect("dev", Connection, Will(delaySeconds: 0), sessionExpirySeconds: 3600);

        _wills.Disconnected("dev", Connection, WillConnectionEnd.Takeover);
        Assert.Single(_published.Wills);
        _wills.Connected("dev", "127.0.0.1:5001", session);
        Assert.Single(_published.Wills);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReconnectReportedBeforeTheOldConnectionsEnd_ResumeCancels_NewSessionPublishes(bool resumed)
    {
        var session = Connect("dev", Connection, Will(delaySeconds: 10), sessionExpirySeconds: 3600);

        _wills.Connected("dev", "127.0.0.1:5001", resumed ? session : new ConcurrentDictionary<object, object>());
        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        _clock.Advance(TimeSpan.FromHours(2));

        Assert.Equal(resumed ? 0 : 1, _published.Wills.Count);
        Assert.Equal(0, _wills.Pending);
    }

    [Fact]
    public void SessionDeletedWhileTheWillWaits_PublishesAtOnce()
    {
        Connect("dev", Connection, Will(delaySeconds: 60), sessionExpirySeconds: 3600);
        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);

        _wills.SessionEnded("dev");
        Assert.Single(_published.Wills);
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Single(_published.Wills); // once
    }

    [Fact]
    public void SessionDeletedBeforeTheDisconnectIsReported_NoDelay()
    {
        // MQTTnet deletes a clean session before it reports the disconnect.
        Connect("dev", Connection, Will(delaySeconds: 60), sessionExpirySeconds: 3600);
        _wills.SessionEnded("dev");
        Assert.Empty(_published.Wills);

        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        Assert.Single(_published.Wills);
    }

    [Fact]
    public void RefusedConnection_ForgetsItsWill()
    {
        _wills.Connecting(Connection, Will(delaySeconds: 0), 0);
        _wills.ConnectionClosed(Connection); // MQTTnet refused it: never connected

        _wills.Disconnected("dev", Connection, WillConnectionEnd.Abnormal);
        Assert.Empty(_published.Wills);
    }

    [Fact]
    public void OtherClientsWills_AreIndependent()
    {
        var a = Connect("a", "127.0.0.1:1", Will(delaySeconds: 10), 3600);
        Connect("b", "127.0.0.1:2", Will(delaySeconds: 10), 3600);
        _wills.Disconnected("a", "127.0.0.1:1", WillConnectionEnd.Abnormal);
        _wills.Disconnected("b", "127.0.0.1:2", WillConnectionEnd.Abnormal);

        _wills.Connected("a", "127.0.0.1:3", a);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(["b"], _published.Wills.Select(w => w.ClientId));
    }

    private IDictionary Connect(string clientId, string connection, WillMessage will, uint sessionExpirySeconds)
    {
        _wills.Connecting(connection, will, sessionExpirySeconds);
        _registry.Add(new ConnectedDevice("user", clientId, IsMqtt5: true, WireFormat.Json, connection));
        var session = new ConcurrentDictionary<object, object>();
        _wills.Connected(clientId, connection, session);
        _registry.Remove(clientId, connection);
        return session;
    }

    private static WillMessage Will(uint delaySeconds) => new("status/dev", "gone"u8.ToArray(), 1, Retain: false, delaySeconds);

    private sealed class RecordingPublisher : IWillPublisher
    {
        public List<(WillMessage Will, string ClientId, ConnectedDevice? Publisher)> Wills { get; } = [];

        public Task PublishAsync(WillMessage will, string clientId, ConnectedDevice? publisher)
        {
            lock (Wills)
            {
                Wills.Add((will, clientId, publisher));
            }

            return Task.CompletedTask;
        }
    }
}
