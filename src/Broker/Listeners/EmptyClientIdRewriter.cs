using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// MQTT 3.1/3.1.1 let a client send an empty client id with a clean session and have the server assign one;
/// MQTTnet refuses such a CONNECT, and mosquitto_pub/mosquitto_sub send exactly that by default.
/// This rewrites the raw CONNECT to carry an assigned id before MQTTnet reads it. MQTT 5 needs no help.
/// </summary>
internal static class EmptyClientIdRewriter
{
    public const string Prefix = "auto-";

    /// <summary>The total size the first packet's fixed header announces; false while the header itself is incomplete.</summary>
    public static bool TryReadAnnouncedLength(in ReadOnlySequence<byte> buffer, out long totalLength)
    {
        totalLength = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out _))
        {
            return false;
        }

        long remaining = 0;
        var multiplier = 1;
        for (var i = 0; i < 4; i++)
        {
            if (!reader.TryRead(out var b))
            {
                return false;
            }

            remaining += (b & 0x7F) * multiplier;
            multiplier *= 128;
            if ((b & 0x80) == 0)
            {
                totalLength = reader.Consumed + remaining;
                return true;
            }
        }

        throw new InvalidDataException("malformed MQTT remaining length");
    }

    /// <summary>A copy of the CONNECT with an assigned client id, or null when it needs none (or is not a 3.x CONNECT).</summary>
    public static byte[]? TryRewrite(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 2 || packet[0] != 0x10)
        {
            return null;
        }

        var headerLength = 1;
        while (headerLength < packet.Length && (packet[headerLength] & 0x80) != 0)
        {
            headerLength++;
        }

        headerLength++;
        var body = packet[headerLength..];
        if (body.Length < 2)
        {
            return null;
        }

        var nameLength = BinaryPrimitives.ReadUInt16BigEndian(body);
        var levelAt = 2 + nameLength;
        var clientIdAt = levelAt + 1 + 1 + 2;
        if (body.Length < clientIdAt + 2 || body[levelAt] is not (3 or 4) || BinaryPrimitives.ReadUInt16BigEndian(body[clientIdAt..]) != 0)
        {
            return null;
        }

        var id = Encoding.ASCII.GetBytes(Prefix + Guid.NewGuid().ToString("N"));
        var newBodyLength = body.Length + id.Length;
        var output = new ArrayBufferWriter<byte>(newBodyLength + 5);
        output.Write([packet[0]]);
        WriteRemainingLength(output, newBodyLength);
        output.Write(body[..clientIdAt]);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)id.Length);
        output.Write(length);
        output.Write(id);
        output.Write(body[(clientIdAt + 2)..]);
        return output.WrittenSpan.ToArray();
    }

    private static void WriteRemainingLength(ArrayBufferWriter<byte> output, int value)
    {
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            output.Write([value > 0 ? (byte)(b | 0x80) : b]);
        }
        while (value > 0);
    }
}
