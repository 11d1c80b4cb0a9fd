using System.Buffers;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>An uplink PUBLISH as the handlers read it: what MQTTnet decoded, without its types (Hooks builds it).</summary>
/// <param name="AtMostOnce">Sent at QoS 0 (a device's telemetry is forwarded at the QoS it came with).</param>
internal readonly record struct UplinkPublish(string Topic, ReadOnlySequence<byte> Payload, string? ContentType, CancellationToken CancellationToken, bool AtMostOnce = false);
