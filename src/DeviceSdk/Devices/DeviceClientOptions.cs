using MQTTnet.Formatter;

namespace MqttIm.DeviceSdk.Devices;

/// <summary>How a <see cref="DeviceClient"/> reaches the broker and behaves when the link is down.</summary>
public sealed class DeviceClientOptions
{
    /// <summary>Broker host name or address.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>MQTT port.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>The registered device id (MQTT username and client id).</summary>
    public string DeviceId { get; set; } = "";

    /// <summary>The device secret shown at registration, or a device token.</summary>
    public string Secret { get; set; } = "";

    /// <summary>MQTT 5 (ResponseTopic/CorrelationData on commands) or 3.1.1.</summary>
    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V500;

    /// <summary>Most telemetry points kept while offline; beyond it the oldest are dropped (counted in <see cref="DeviceClient.DroppedTelemetry"/>).</summary>
    public int MaxBufferedTelemetry { get; set; } = 10_000;

    /// <summary>Most telemetry publishes in flight at once (each is a QoS 1 PUBLISH; the broker stores them in group commits).</summary>
    public int TelemetryBatchSize { get; set; } = 64;

    /// <summary>First reconnect delay; doubled per failed attempt up to <see cref="ReconnectMaxDelay"/>, each with ±50% jitter.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest reconnect delay.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>MQTT keep-alive.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);
}
