namespace MqttIm.ImExtensions.Delivery;

/// <summary>MQTT variable byte integers (spec 1.5.5), for the packets the listener rewrites and the room frames written raw.</summary>
internal static class VarInt
{
    public static int Size(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;

    public static int Write(Span<byte> output, int value)
    {
        var i = 0;
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            output[i++] = value > 0 ? (byte)(b | 0x80) : b;
        }
        while (value > 0);
        return i;
    }
}
