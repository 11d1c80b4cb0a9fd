using System.Buffers;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>An uplink PUBLISH as the handlers read it: what MQTTnet decoded, without its types (Hooks builds it).</summary>
internal readonly record struct UplinkPublish(string Topic, ReadOnlySequence<byte> Payload, string? ContentType, CancellationToken CancellationToken);
