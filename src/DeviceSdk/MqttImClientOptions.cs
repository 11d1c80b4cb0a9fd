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

    /// <summary>Pause between reconnect attempts.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(2);
}
