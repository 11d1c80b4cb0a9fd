using System.Buffers;
using System.Text;
using Google.Protobuf;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>Reads uplink payloads in either wire format and writes downlink payloads in the format a device asked for.</summary>
internal static class PayloadCodec
{
    public const string JsonContentType = "application/json";
    public const string ProtobufContentType = "application/x-protobuf";

    // Unknown JSON fields are an error, so a typo ("txt") is reported instead of silently sending an empty message.
    private static readonly JsonParser StrictJson = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    /// <summary>MQTT 5 content type wins; otherwise a payload whose first non-blank byte is '{' is JSON, anything else protobuf.</summary>
    public static WireFormat Detect(in ReadOnlySequence<byte> payload, string? contentType)
    {
        if (!string.IsNullOrEmpty(contentType))
        {
            if (contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                return WireFormat.Json;
            }

            if (contentType.Contains("protobuf", StringComparison.OrdinalIgnoreCase))
            {
                return WireFormat.Protobuf;
            }
        }

        var reader = new SequenceReader<byte>(payload);
        while (reader.TryRead(out var b))
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                continue;
            }

            return b == (byte)'{' ? WireFormat.Json : WireFormat.Protobuf;
        }

        return WireFormat.Protobuf;
    }

    /// <summary>Parses a payload; returns false with a human-readable reason when it is not a valid <typeparamref name="T"/>.</summary>
    public static bool TryDecode<T>(MessageParser<T> parser, in ReadOnlySequence<byte> payload, WireFormat format, out T? message, out string? error)
        where T : IMessage<T>, new()
    {
        try
        {
            message = format == WireFormat.Json
                ? StrictJson.Parse<T>(Encoding.UTF8.GetString(payload))
                : parser.ParseFrom(payload);
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or DecoderFallbackException)
        {
            message = default;
            error = $"payload is not a valid {typeof(T).Name} ({format}): {ex.Message}";
            return false;
        }
    }

    // Largest JSON text (in chars) whose builder a thread keeps between encodes; a bigger one is let go after its encode.
    private const int KeptJsonBuilderChars = 16 * 1024;

    [ThreadStatic]
    private static StringWriter? t_jsonWriter;

    public static byte[] Encode(IMessage message, WireFormat format) =>
        format == WireFormat.Json ? EncodeJson(message) : message.ToByteArray();

    /// <summary>
    /// The same text as <c>JsonFormatter.Format(message)</c>, written into a per-thread builder and encoded to UTF-8 from
    /// it: every downlink event was a growing builder, a string and the bytes; now it is the bytes only.
    /// </summary>
    private static byte[] EncodeJson(IMessage message)
    {
        var writer = t_jsonWriter ?? new StringWriter(new StringBuilder(1024), System.Globalization.CultureInfo.InvariantCulture);
        t_jsonWriter = null; // taken while in use, so a nested encode on this thread gets its own
        var builder = writer.GetStringBuilder();
        builder.Clear();
        Json.Format(message, writer);
        byte[] bytes;
        var chunks = builder.GetChunks();
        if (chunks.MoveNext() && chunks.Current.Length == builder.Length)
        {
            var text = chunks.Current.Span;
            bytes = new byte[Encoding.UTF8.GetByteCount(text)];
            Encoding.UTF8.GetBytes(text, bytes);
        }
        else
        {
            // Several chunks (a thread's first encodes while its builder grows, or a long text): a surrogate pair may
            // straddle two chunks, so encode the whole text at once.
            bytes = Encoding.UTF8.GetBytes(builder.ToString());
        }

        if (builder.Capacity <= KeptJsonBuilderChars)
        {
            t_jsonWriter = writer;
        }

        return bytes;
    }

    public static string ContentTypeOf(WireFormat format) => format == WireFormat.Json ? JsonContentType : ProtobufContentType;

    /// <summary>Reads a device's downlink choice: "json" or "protobuf"/"proto"/"pb"; anything else is null.</summary>
    public static WireFormat? ParseFormatName(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "json" => WireFormat.Json,
        "protobuf" or "proto" or "pb" => WireFormat.Protobuf,
        _ => null,
    };
}
