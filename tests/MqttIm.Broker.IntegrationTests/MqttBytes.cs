using System.Text;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Builds raw MQTT packets byte by byte, including ones the spec forbids.</summary>
internal static class MqttBytes
{
    public static byte[] Str(string text) => Bin(Encoding.UTF8.GetBytes(text));

    public static byte[] Bin(byte[] bytes) => [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];

    public static byte[] VarInt(int value)
    {
        var output = new List<byte>();
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            output.Add(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);
        return [.. output];
    }

    /// <summary>Reads a variable byte integer (lengths, property lengths) at <paramref name="at"/> and moves past it.</summary>
    public static int ReadVarInt(byte[] buffer, ref int at)
    {
        var value = 0;
        var multiplier = 1;
        byte b;
        do
        {
            b = buffer[at++];
            value += (b & 0x7F) * multiplier;
            multiplier *= 128;
        }
        while ((b & 0x80) != 0);
        return value;
    }

    public static byte[] Packet(byte first, params byte[][] parts)
    {
        var body = parts.SelectMany(p => p).ToArray();
        return [first, .. VarInt(body.Length), .. body];
    }

    /// <summary>CONNECT with user name and password (a token), clean session, no will.</summary>
    public static byte[] Connect(int level, string clientId, string userName, string password, ushort keepAlive = 60,
        bool cleanSession = true, byte[]? rawClientId = null, byte[]? properties = null)
    {
        var flags = (byte)(0xC0 | (cleanSession ? 0x02 : 0));
        return Packet(0x10,
            Str("MQTT"),
            [(byte)level, flags, (byte)(keepAlive >> 8), (byte)keepAlive],
            level == 5 ? [.. VarInt(properties?.Length ?? 0), .. properties ?? []] : [],
            rawClientId is null ? Str(clientId) : Bin(rawClientId),
            Str(userName),
            Str(password));
    }

    /// <summary>PUBLISH with a raw topic; MQTT 5 properties as given (empty = none).</summary>
    public static byte[] Publish(int level, byte[] topic, int qos, ushort packetId, byte[] payload, byte[]? properties = null)
    {
        return Packet((byte)(0x30 | (qos << 1)),
            Bin(topic),
            qos > 0 ? [(byte)(packetId >> 8), (byte)packetId] : [],
            level == 5 ? [.. VarInt(properties?.Length ?? 0), .. properties ?? []] : [],
            payload);
    }

    public static byte[] TopicAlias(ushort alias) => [0x23, (byte)(alias >> 8), (byte)alias];

    /// <summary>The reason code of an MQTT 5 DISCONNECT packet, or null if <paramref name="packet"/> is not one.</summary>
    public static byte? DisconnectReason(byte[]? packet) => packet is [0xE0, _, var code, ..] ? code : packet is [0xE0, 0x00] ? 0 : null;
}
