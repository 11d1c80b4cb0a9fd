using System.Buffers;
using System.Text;
using Google.Protobuf;

namespace MqttIm.DeviceSdk.Wire;

/// <summary>Uplinks are protobuf binary; downlinks are read as protobuf or proto3 JSON by content type, else by sniffing.</summary>
internal static class WireCodec
{
    public const string ProtobufContentType = "application/x-protobuf";

    // Unknown fields are ignored so a newer broker does not break an older app.
    private static readonly JsonParser LenientJson = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static byte[] Encode(IMessage message) => message.ToByteArray();

    public static T Decode<T>(MessageParser<T> parser, in ReadOnlySequence<byte> payload, string? contentType)
        where T : IMessage<T>, new()
    {
        return IsJson(payload, contentType)
            ? LenientJson.Parse<T>(Encoding.UTF8.GetString(payload))
            : parser.ParseFrom(payload);
    }

    private static bool IsJson(in ReadOnlySequence<byte> payload, string? contentType)
    {
        if (!string.IsNullOrEmpty(contentType))
        {
            if (contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (contentType.Contains("protobuf", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        var reader = new SequenceReader<byte>(payload);
        while (reader.TryRead(out var b))
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return b == (byte)'{';
            }
        }

        return false;
    }
}
