using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Memory;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// Closes a connection when the access token it connected with expires (plus <c>Auth:ExpiryGrace</c>): MQTT 5 clients get
/// DISCONNECT 0x87 Not authorized with the reason, 3.1.1 clients a closed socket. One timer for all connections, set to
/// the earliest expiry (a timer per connection cost an idle connection ~250 B: timer, callback, closure).
/// </summary>
internal sealed class TokenExpiryEnforcer : IDisposable
{
    private readonly ConnectedDeviceRegistry _registry;
    private readonly IConnectionCloser _closer;
    private readonly TimeProvider _clock;
    private readonly IOptions<AuthOptions> _options;
    private readonly ILogger<TokenExpiryEnforcer> _logger;

    // Validated but not yet connected: CONNECT validation and the connected event are separate MQTTnet callbacks, and
    // session items do not survive a resumed session. Bounded: a validation whose connection never completes is dropped.
    private readonly BoundedLruCache<string, DateTimeOffset> _validated = new("token_expiry_pending", 10_000, StringComparer.Ordinal);

    // Client id → the connection whose expiry is armed. The queue may hold entries of connections already gone or
    // replaced (removed lazily when due, or all at once when they outnumber the live ones).
    private readonly ConcurrentDictionary<string, ConnectedDevice> _armed = new(StringComparer.Ordinal);
    private readonly PriorityQueue<ConnectedDevice, DateTimeOffset> _due = new();
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private DateTimeOffset _timerDue = DateTimeOffset.MaxValue;

    public TokenExpiryEnforcer(ConnectedDeviceRegistry registry, IConnectionCloser closer, TimeProvider clock, IOptions<AuthOptions> options, ILogger<TokenExpiryEnforcer> logger)
    {
        _registry = registry;
        _closer = closer;
        _clock = clock;
        _options = options;
        _logger = logger;
        _timer = clock.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public int ArmedCount => _armed.Count;

    /// <summary>Entries in the expiry queue, live or stale (for tests: stale ones must not pile up).</summary>
    internal int QueuedCount
    {
        get
        {
            lock (_gate)
            {
                return _due.Count;
            }
        }
    }

    /// <summary>Remembers when the token of the connection being validated for <paramref name="clientId"/> expires.</summary>
    public void Validated(string clientId, DateTimeOffset expiresAt) => _validated.Set(clientId, expiresAt);

    /// <summary>Arms the connection's expiry.</summary>
    public void Connected(ConnectedDevice device)
    {
        if (!_validated.TryGetValue(device.ClientId, out var expiresAt))
        {
            return;
        }

        _validated.Remove(device.ClientId);
        var due = expiresAt + _options.Value.ExpiryGrace;
        lock (_gate)
        {
            _armed[device.ClientId] = device;
            _due.Enqueue(device, due);
            if (_due.Count > 2 * _armed.Count + 1024)
            {
                Compact();
            }

            ScheduleLocked();
        }
    }

    /// <summary>Disarms that connection (a later connection with the same client id keeps its own).</summary>
    public void Disconnected(string clientId, string connectionKey)
    {
        if (_armed.TryGetValue(clientId, out var armed) && armed.ConnectionKey == connectionKey)
        {
            _armed.TryRemove(new KeyValuePair<string, ConnectedDevice>(clientId, armed));
        }
    }

    public void Dispose() => _timer.Dispose();

    private void OnTimer()
    {
        var expired = new List<ConnectedDevice>();
        lock (_gate)
        {
            _timerDue = DateTimeOffset.MaxValue;
            var now = _clock.GetUtcNow();
            while (_due.TryPeek(out var device, out var due) && due <= now)
            {
                _due.Dequeue();
                if (_armed.TryGetValue(device.ClientId, out var armed) && ReferenceEquals(armed, device)
                    && _armed.TryRemove(new KeyValuePair<string, ConnectedDevice>(device.ClientId, device)))
                {
                    expired.Add(device);
                }
            }

            ScheduleLocked();
        }

        foreach (var device in expired)
        {
            _ = DisconnectAsync(device);
        }
    }

    private void ScheduleLocked()
    {
        if (!_due.TryPeek(out _, out var next) || next >= _timerDue)
        {
            return;
        }

        _timerDue = next;
        var wait = next - _clock.GetUtcNow();
        _timer.Change(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Drops queue entries of connections that are gone (many short connections with long-lived tokens).</summary>
    private void Compact()
    {
        var live = _due.UnorderedItems.Where(e => _armed.TryGetValue(e.Element.ClientId, out var armed) && ReferenceEquals(armed, e.Element)).ToList();
        _due.Clear();
        _due.EnqueueRange(live);
    }

    private async Task DisconnectAsync(ConnectedDevice device)
    {
        try
        {
            if (!_registry.IsCurrent(device))
            {
                return;
            }

            ImLog.ClientKicked(_logger, device.ClientId, "access token expired");
            SessionMetrics.TokenExpiryDisconnects.Inc();
            await _closer.DisconnectAsync(device.ClientId, CloseReason.NotAuthorized, "access token expired; connect again with a fresh token")
                .ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ImLog.KickFailed(_logger, ex, device.ClientId);
        }
    }
}
