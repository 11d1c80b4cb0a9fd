using Google.Protobuf;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.ImExtensions.Sessions;
using WireFormat = MqttIm.ImExtensions.Sessions.WireFormat;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>One downlink event, encoded at most once per wire format however many devices receive it.</summary>
internal sealed class OutboundEvent(IMessage body)
{
    private byte[]? _json;
    private byte[]? _protobuf;

    public IMessage Body { get; } = body;

    public byte[] Payload(WireFormat format) => format == WireFormat.Json
        ? _json ??= PayloadCodec.Encode(Body, WireFormat.Json)
        : _protobuf ??= PayloadCodec.Encode(Body, WireFormat.Protobuf);

    public MqttApplicationMessage ToMqttMessage(string topic, WireFormat format, byte[]? correlationData = null) => new()
    {
        Topic = topic,
        PayloadSegment = new ArraySegment<byte>(Payload(format)),
        QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
        ContentType = PayloadCodec.ContentTypeOf(format),
        CorrelationData = correlationData,
    };
}
