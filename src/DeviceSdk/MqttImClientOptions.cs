using MQTTnet.Formatter;

namespace MqttIm.DeviceSdk;

/// <summary>Where and as whom an <see cref="MqttImClient"/> connects, and how it delivers messages.</summary>
public sealed class MqttImClientOptions
{
    /// <summary>Broker host name or address for MQTT over TCP.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>Broker MQTT TCP port.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>MQTT over WebSocket endpoint (e.g. ws://host:8080/mqtt); when set, Host and Port are not used.</summary>
    public Uri? WebSocketUri { get; set; }

    /// <summary>The user id, sent as the MQTT username.</summary>
    public required string UserId { get; set; }

    /// <summary>The JWT access token, sent as the MQTT password.</summary>
    public required string AccessToken { get; set; }

    /// <summary>The device id, used as the MQTT client id; a random one is generated when null.</summary>
    public string? DeviceId { get; set; }

    /// <summary>MQTT 5 (the default, with PUBACK acks) or MQTT 3.1.1 (acks arrive on the inbox).</summary>
    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V500;

    /// <summary>How long connecting, a send acknowledgement or one RPC page may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an out-of-order message waits for the missing seqs before the client syncs to fetch them.</summary>
    public TimeSpan GapTimeout { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Highest seq per conversation the app already holds (e.g. restored from its local database).</summary>
    public IReadOnlyDictionary<string, long>? InitialCursors { get; set; }

    /// <summary>Whether every (re)connect syncs to catch up on what was missed while offline.</summary>
    public bool SyncOnConnect { get; set; } = true;

    /// <summary>Messages per sync page the client asks for (0 = the broker's default).</summary>
    public int SyncPageLimit { get; set; }

    /// <summary>Whether the client reconnects (and catches up) by itself after losing the connection.</summary>
    public bool AutoReconnect { get; set; }

    /// <summary>Pause before the first reconnect attempt; it doubles per failed attempt up to <see cref="ReconnectMaxDelay"/>, with random jitter (50–100 %).</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest pause between reconnect attempts.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Pipelined sends (CONNECT user property <c>ack=received</c>): the broker PUBACKs a send once received and reports
    /// "stored" on the inbox, so up to <see cref="SendWindow"/> sends are in flight on the one connection. A send still
    /// completes only once stored; it is resent with its client message id after <see cref="SendRetryInterval"/> without
    /// an answer or after a reconnect (the broker's dedup makes that safe). Needs <see cref="AutoReconnect"/> to ride out
    /// a lost connection.
    /// </summary>
    public bool PipelinedSends { get; set; }

    /// <summary>Most sends waiting for their stored-ack at once in pipelined mode; more wait for a free slot.</summary>
    public int SendWindow { get; set; } = 64;

    /// <summary>Pipelined mode: how long a send waits for its stored-ack before it is resent.</summary>
    public TimeSpan SendRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Pipelined mode: how long a send keeps being retried (across reconnects) before it fails with a <see cref="TimeoutException"/>.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
