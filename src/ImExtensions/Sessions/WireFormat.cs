namespace MqttIm.ImExtensions.Sessions;

/// <summary>How a payload is encoded on the wire: the proto3 JSON mapping or protobuf binary.</summary>
public enum WireFormat
{
    Json,
    Protobuf,
}
