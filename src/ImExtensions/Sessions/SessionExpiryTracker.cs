using Microsoft.Extensions.Options;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// When each offline session is due to expire: its MQTT 5 Session Expiry Interval capped to <c>Sessions:MaxSessionExpiry</c>,
/// or the maximum for MQTT 3.1.1. Holds one entry per disconnected client id that may still have a session.
/// </summary>
internal sealed class SessionExpiryTracker(IOptions<SessionOptions> options, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _expiresAt = new(StringComparer.Ordinal);

    // Client id → the connection whose session outlives it and the expiry its CONNECT asked for (null: MQTT 3.1.1
    // clean session 0). Taken from CONNECT because MQTTnet reports the DISCONNECT's value (often 0) at disconnect.
    // Keyed by connection too: a quick reconnect can be validated before the old connection's disconnect is
    // reported, and that late disconnect must not consume the new connection's entry.
    private readonly Dictionary<string, (string Connection, uint? ExpirySeconds)> _persistent = new(StringComparer.Ordinal);

    // Connection → client id of the persistent entries above, for a DISCONNECT that changes the expiry (seen by the packet layer).
    private readonly Dictionary<string, string> _clientOfConnection = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _expiresAt.Count;
            }
        }
    }

    /// <summary>At CONNECT: whether the session outlives the connection, and for how long the client asked.</summary>
    /// <param name="cleanSession">3.1.1 clean session / MQTT 5 clean start.</param>
    /// <param name="expirySeconds">MQTT 5 Session Expiry Interval (0xFFFFFFFF = never; 0 or absent for 3.1.1).</param>
    /// <param name="connection">Identifies this connection (its remote end point), as given again at disconnect.</param>
    public void Connecting(string clientId, string connection, bool cleanSession, uint expirySeconds)
    {
        lock (_gate)
        {
            if (expirySeconds > 0)
            {
                _persistent[clientId] = (connection, expirySeconds);
                _clientOfConnection[connection] = clientId;
            }
            else if (!cleanSession)
            {
                _persistent[clientId] = (connection, null);
                _clientOfConnection[connection] = clientId;
            }
            else
            {
                _persistent.Remove(clientId);
            }
        }
    }

    /// <summary>
    /// An MQTT 5 DISCONNECT set a new Session Expiry Interval (the packet layer has refused 0 → non-zero already); 0 ends
    /// the session at this disconnect. Returns the client id of that connection's persistent session, or null.
    /// </summary>
    public string? ChangedOnDisconnect(string connection, uint expirySeconds)
    {
        lock (_gate)
        {
            if (!_clientOfConnection.TryGetValue(connection, out var clientId) || !_persistent.TryGetValue(clientId, out var entry) || entry.Connection != connection)
            {
                return null;
            }

            _persistent[clientId] = (connection, expirySeconds);
            return clientId;
        }
    }

    /// <summary>At disconnect: a persistent session starts waiting for its device, at most <c>Sessions:MaxSessionExpiry</c>.
    /// A disconnect of a connection that has since been replaced by a newer one of the same client id changes nothing.</summary>
    /// <returns>True when the session ends now (its DISCONNECT set the expiry to 0): the caller deletes it.</returns>
    public bool Disconnected(string clientId, string connection)
    {
        uint? requestedExpirySeconds;
        lock (_gate)
        {
            _clientOfConnection.Remove(connection);
            if (!_persistent.TryGetValue(clientId, out var entry) || entry.Connection != connection)
            {
                return false;
            }

            _persistent.Remove(clientId);
            requestedExpirySeconds = entry.ExpirySeconds;
        }

        if (requestedExpirySeconds == 0)
        {
            return true;
        }

        var expiry = ExpiryOf(requestedExpirySeconds);
        lock (_gate)
        {
            _expiresAt[clientId] = clock.GetUtcNow() + expiry;
        }

        return false;
    }

    /// <summary>
    /// After a restart: a persistent session read from the store has waited for its device since <paramref name="since"/>
    /// and expires after <paramref name="expirySeconds"/> (capped), unless the device connects first.
    /// </summary>
    public void Restored(string clientId, DateTimeOffset since, uint expirySeconds)
    {
        var expiry = ExpiryOf(expirySeconds);
        lock (_gate)
        {
            _expiresAt[clientId] = since + expiry;
        }
    }

    private TimeSpan ExpiryOf(uint? requestedExpirySeconds)
    {
        var max = options.Value.MaxSessionExpiry;
        return requestedExpirySeconds is { } seconds && seconds != uint.MaxValue && TimeSpan.FromSeconds(seconds) < max
            ? TimeSpan.FromSeconds(seconds)
            : max;
    }

    /// <summary>A connection of the client id is up: nothing expires while it is.</summary>
    public void Connected(string clientId)
    {
        lock (_gate)
        {
            _expiresAt.Remove(clientId);
        }
    }

    /// <summary>Removes and returns the client ids whose session expiry has passed.</summary>
    public List<string> TakeExpired()
    {
        var now = clock.GetUtcNow();
        var expired = new List<string>();
        lock (_gate)
        {
            foreach (var (clientId, at) in _expiresAt)
            {
                if (at <= now)
                {
                    expired.Add(clientId);
                }
            }

            foreach (var clientId in expired)
            {
                _expiresAt.Remove(clientId);
            }
        }

        return expired;
    }
}
