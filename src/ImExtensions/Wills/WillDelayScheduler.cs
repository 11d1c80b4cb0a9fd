using System.Collections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Wills;

/// <summary>How a connection that carried a will ended.</summary>
internal enum WillConnectionEnd
{
    /// <summary>DISCONNECT with reason 0x00 (or any 3.1.1 DISCONNECT): the will is deleted [MQTT-3.1.2-10].</summary>
    NormalDisconnect,

    /// <summary>Anything else: network loss, keep-alive timeout, protocol error, server close, DISCONNECT 0x04 or another code.</summary>
    Abnormal,

    /// <summary>A new connection with the same client id took the session over.</summary>
    Takeover,
}

/// <summary>
/// Decides when each client's will goes out (spec 3.1.2.5, 3.1.3.2.2). Told by the packet layer what a CONNECT's will
/// is (<see cref="Connecting"/>) and by the hooks how the connection and its session fare; the will is published
/// after min(Will Delay Interval, Session Expiry Interval) once the connection ended other than by a normal
/// DISCONNECT, cancelled when a new connection resumes the session before that, and published at once when the session
/// ends first (clean start elsewhere, expiry, deletion). Timers run on <see cref="TimeProvider"/>.
/// </summary>
internal sealed class WillDelayScheduler(
    IWillPublisher publisher,
    ConnectedDeviceRegistry registry,
    IOptions<SessionOptions> sessionOptions,
    TimeProvider clock,
    ILogger<WillDelayScheduler> logger) : IDisposable
{
    private readonly Lock _gate = new();

    // Connections (by connection key) whose CONNECT had a will, from CONNECT until they end.
    private readonly Dictionary<string, WillConnection> _connections = new(StringComparer.Ordinal);

    // The live connection with a will per client id (bound at the connected event).
    private readonly Dictionary<string, WillConnection> _live = new(StringComparer.Ordinal);

    // Wills waiting for their delay, by client id (at most one: a new connection of the id settles the previous one).
    private readonly Dictionary<string, PendingWill> _pending = new(StringComparer.Ordinal);

    /// <summary>Wills waiting for their delay (for tests and metrics).</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>
    /// The packet layer read a CONNECT with a will (and removed it before MQTTnet saw it).
    /// </summary>
    /// <param name="connection">The connection key (<see cref="ConnectionKeys.Of"/>).</param>
    /// <param name="sessionExpirySeconds">MQTT 5: the CONNECT's Session Expiry Interval (0xFFFFFFFF never). 3.1.1: 0.</param>
    public void Connecting(string connection, WillMessage will, uint sessionExpirySeconds)
    {
        lock (_gate)
        {
            _connections[connection] = new WillConnection(connection, will) { SessionExpirySeconds = sessionExpirySeconds };
        }
    }

    /// <summary>An MQTT 5 DISCONNECT of this connection set a new Session Expiry Interval.</summary>
    public void SessionExpiryChanged(string connection, uint seconds)
    {
        lock (_gate)
        {
            if (_connections.TryGetValue(connection, out var entry))
            {
                entry.SessionExpirySeconds = seconds;
            }
        }
    }

    /// <summary>
    /// MQTTnet accepted a connection. A will waiting for this client id is cancelled when the connection resumed its
    /// session (the same session items), and published now when the session is a new one (the old one ended).
    /// </summary>
    public void Connected(string clientId, string connection, IDictionary sessionItems)
    {
        WillConnection? due = null;
        lock (_gate)
        {
            if (_pending.Remove(clientId, out var pending))
            {
                pending.Timer.Dispose();
                WillMetrics.Pending.Set(_pending.Count);
                if (ReferenceEquals(sessionItems[WillPublication.SessionTokenKey], pending.Connection.SessionToken))
                {
                    WillMetrics.Cancelled.Inc();
                }
                else
                {
                    due = pending.Connection;
                }
            }

            if (_live.TryGetValue(clientId, out var older) && older.Connection != connection)
            {
                // MQTTnet can report a reconnect before the end of the connection it replaced (no takeover: the old one
                // was already going): remember whether it resumed that connection's session, for when its end is reported.
                older.ResumedBySuccessor = ReferenceEquals(sessionItems[WillPublication.SessionTokenKey], older.SessionToken);
                _live.Remove(clientId);
            }

            if (_connections.TryGetValue(connection, out var entry))
            {
                var token = sessionItems[WillPublication.SessionTokenKey];
                if (token is null)
                {
                    sessionItems[WillPublication.SessionTokenKey] = token = new object();
                }

                entry.ClientId = clientId;
                entry.SessionToken = token;
                entry.Publisher = registry.Find(clientId);
                _live[clientId] = entry;
            }
        }

        if (due is not null)
        {
            Publish(due, delayed: true);
        }
    }

    /// <summary>MQTTnet reported the end of a connection.</summary>
    public void Disconnected(string clientId, string connection, WillConnectionEnd end)
    {
        WillConnection? now = null;
        WillConnection? displaced = null;
        lock (_gate)
        {
            if (!_connections.Remove(connection, out var entry))
            {
                return;
            }

            if (_live.TryGetValue(clientId, out var live) && ReferenceEquals(live, entry))
            {
                _live.Remove(clientId);
            }

            if (end == WillConnectionEnd.NormalDisconnect)
            {
                WillMetrics.Discarded.Inc();
                return;
            }

            entry.ClientId ??= clientId;
            var delay = DelayOf(entry);
            if (delay <= TimeSpan.Zero || entry.ResumedBySuccessor == false)
            {
                now = entry;
            }
            else if (entry.ResumedBySuccessor == true)
            {
                WillMetrics.Cancelled.Inc(); // the new connection is already there
            }
            else
            {
                if (_pending.Remove(clientId, out var earlier))
                {
                    // Not expected (the new connection settles the earlier will); never lose it.
                    earlier.Timer.Dispose();
                    displaced = earlier.Connection;
                }

                // The timer's callback takes the gate too, so it cannot see the entry before it is complete.
                var pending = new PendingWill(this, entry);
                pending.Timer = clock.CreateTimer(static state => ((PendingWill)state!).Due(), pending, delay, Timeout.InfiniteTimeSpan);
                _pending[clientId] = pending;
                WillMetrics.Pending.Set(_pending.Count);
            }
        }

        if (displaced is not null)
        {
            Publish(displaced, delayed: true);
        }

        if (now is not null)
        {
            Publish(now, delayed: false);
        }
    }

    /// <summary>MQTTnet deleted the client id's session (expiry, clean session end, an administrator): its will goes out now.</summary>
    public void SessionEnded(string clientId)
    {
        WillConnection? due = null;
        lock (_gate)
        {
            if (_pending.Remove(clientId, out var pending))
            {
                pending.Timer.Dispose();
                WillMetrics.Pending.Set(_pending.Count);
                due = pending.Connection;
            }
            else if (_live.TryGetValue(clientId, out var live))
            {
                live.SessionEnded = true; // the connection is ending: no delay once it has
            }
        }

        if (due is not null)
        {
            Publish(due, delayed: true);
        }
    }

    /// <summary>
    /// The packet layer is done with a connection. A will of a connection MQTTnet never accepted (refused CONNECT) is
    /// forgotten; accepted ones are settled by <see cref="Disconnected"/>.
    /// </summary>
    public void ConnectionClosed(string connection)
    {
        lock (_gate)
        {
            if (_connections.TryGetValue(connection, out var entry) && entry.ClientId is null)
            {
                _connections.Remove(connection);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var pending in _pending.Values)
            {
                pending.Timer.Dispose();
            }

            _pending.Clear();
        }
    }

    private TimeSpan DelayOf(WillConnection entry)
    {
        if (entry.SessionEnded || entry.Will.DelaySeconds == 0 || entry.SessionExpirySeconds == 0)
        {
            return TimeSpan.Zero;
        }

        // The session outlives the connection by its expiry (capped like every session): the will waits at most that long.
        var seconds = entry.SessionExpirySeconds == uint.MaxValue ? entry.Will.DelaySeconds : Math.Min(entry.Will.DelaySeconds, entry.SessionExpirySeconds);
        var delay = TimeSpan.FromSeconds(seconds);
        var max = sessionOptions.Value.MaxSessionExpiry;
        return delay < max ? delay : max;
    }

    private void Due(PendingWill pending)
    {
        lock (_gate)
        {
            var clientId = pending.Connection.ClientId!;
            if (!_pending.TryGetValue(clientId, out var current) || !ReferenceEquals(current, pending))
            {
                return; // cancelled or published meanwhile
            }

            _pending.Remove(clientId);
            pending.Timer.Dispose();
            WillMetrics.Pending.Set(_pending.Count);
        }

        Publish(pending.Connection, delayed: true);
    }

    private void Publish(WillConnection entry, bool delayed)
    {
        (delayed ? WillMetrics.PublishedDelayed : WillMetrics.PublishedAtOnce).Inc();
        _ = PublishAsync(entry);
    }

    private async Task PublishAsync(WillConnection entry)
    {
        try
        {
            await publisher.PublishAsync(entry.Will, entry.ClientId!, entry.Publisher).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ImLog.HookFailed(logger, ex, "will", entry.ClientId ?? "");
        }
    }

    /// <summary>One connection's will and what decides its timing.</summary>
    private sealed class WillConnection(string connection, WillMessage will)
    {
        public string Connection { get; } = connection;

        public WillMessage Will { get; } = will;

        public uint SessionExpirySeconds { get; set; }

        public string? ClientId { get; set; }

        public object? SessionToken { get; set; }

        public ConnectedDevice? Publisher { get; set; }

        public bool SessionEnded { get; set; }

        /// <summary>Set when a newer connection of the client id was reported before this one's end: whether it resumed the session.</summary>
        public bool? ResumedBySuccessor { get; set; }
    }

    private sealed class PendingWill(WillDelayScheduler scheduler, WillConnection connection)
    {
        public WillConnection Connection { get; } = connection;

        public ITimer Timer { get; set; } = null!;

        public void Due() => scheduler.Due(this);
    }
}

/// <summary>Metrics of will messages.</summary>
internal static class WillMetrics
{
    private static readonly Prometheus.Counter Wills = Prometheus.Metrics.CreateCounter(
        "mqttim_wills_total", "Will messages by outcome: published at once or after their delay, cancelled by a reconnect, discarded by a normal DISCONNECT.", "outcome");

    public static readonly Prometheus.Counter.Child PublishedAtOnce = Wills.WithLabels("published");
    public static readonly Prometheus.Counter.Child PublishedDelayed = Wills.WithLabels("published_delayed");
    public static readonly Prometheus.Counter.Child Cancelled = Wills.WithLabels("cancelled");
    public static readonly Prometheus.Counter.Child Discarded = Wills.WithLabels("discarded");

    public static readonly Prometheus.Gauge Pending = Prometheus.Metrics.CreateGauge(
        "mqttim_wills_pending", "Will messages waiting for their Will Delay Interval (their connection is gone, their session not resumed yet).");
}
