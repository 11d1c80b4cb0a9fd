using System.Text;

namespace MqttIm.Broker.Listeners;

/// <summary>The few packets the broker's own packet layer writes when it refuses a client, kept short and well-formed.</summary>
internal static class MqttRefusals
{
    /// <summary>MQTT 5 DISCONNECT with a reason code and a reason string (property 0x1F).</summary>
    public static byte[] Disconnect(byte reasonCode, string reason)
    {
        var text = ShortUtf8(reason);
        var propertiesLength = 3 + text.Length;
        var remaining = 1 + 1 + propertiesLength; // reason code, property length (< 128), properties
        var packet = new byte[2 + remaining];
        packet[0] = 0xE0;
        packet[1] = (byte)remaining;
        packet[2] = reasonCode;
        packet[3] = (byte)propertiesLength;
        packet[4] = 0x1F;
        packet[5] = (byte)(text.Length >> 8);
        packet[6] = (byte)text.Length;
        text.CopyTo(packet, 7);
        return packet;
    }

    /// <summary>A refusing CONNACK: MQTT 5 reason code (with a reason string) or, for 3.1/3.1.1, a return code.</summary>
    public static byte[] ConnAck(int protocolLevel, byte code, string reason)
    {
        if (protocolLevel < 5)
        {
            return [0x20, 0x02, 0x00, code];
        }

        var text = ShortUtf8(reason);
        var propertiesLength = 3 + text.Length;
        var remaining = 1 + 1 + 1 + propertiesLength;
        var packet = new byte[2 + remaining];
        packet[0] = 0x20;
        packet[1] = (byte)remaining;
        packet[2] = 0x00;
        packet[3] = code;
        packet[4] = (byte)propertiesLength;
        packet[5] = 0x1F;
        packet[6] = (byte)(text.Length >> 8);
        packet[7] = (byte)text.Length;
        text.CopyTo(packet, 8);
        return packet;
    }

    /// <summary>
    /// The reason as at most 100 UTF-8 bytes, cut at a character boundary: every length above then fits in one byte,
    /// and the packet stays well-formed whatever the text.
    /// </summary>
    private static byte[] ShortUtf8(string reason)
    {
        var bytes = Encoding.UTF8.GetBytes(reason);
        if (bytes.Length <= 100)
        {
            return bytes;
        }

        var length = 100;
        while (length > 0 && (bytes[length] & 0xC0) == 0x80)
        {
            length--;
        }

        return bytes[..length];
    }
}
