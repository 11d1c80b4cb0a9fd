using System.Text;
using MqttIm.Broker.Listeners;

namespace MqttIm.Broker.Tests;

/// <summary>The packet layer takes the will out of a CONNECT: the rest of the CONNECT stays byte for byte.</summary>
public sealed class ConnectWillTests
{
    private static byte[] Str(string s) => Bin(Encoding.UTF8.GetBytes(s));

    private static byte[] Bin(byte[] b) => [(byte)(b.Length >> 8), (byte)b.Length, .. b];

    private static byte[] VarInt(int value)
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

    private static byte[] Connect(byte level, byte[]? willProperties, string? willTopic, byte[] willPayload, int willQos = 1, bool willRetain = true)
    {
        var flags = (byte)(0xC0 | 0x02);
        if (willTopic is not null)
        {
            flags |= (byte)(0x04 | (willQos << 3) | (willRetain ? 0x20 : 0));
        }

        byte[] properties = level == 5 ? [0x05, 0x11, 0x00, 0x00, 0x0E, 0x10] : []; // Session Expiry 3600
        var body = new List<byte>();
        body.AddRange(Str("MQTT"));
        body.AddRange([level, flags, 0x00, 0x3C]);
        body.AddRange(properties);
        body.AddRange(Str("dev-1"));
        if (willTopic is not null)
        {
            if (level == 5)
            {
                body.AddRange(VarInt(willProperties!.Length));
                body.AddRange(willProperties);
            }

            body.AddRange(Str(willTopic));
            body.AddRange(Bin(willPayload));
        }

        body.AddRange(Str("alice"));
        body.AddRange(Str("token"));
        return [0x10, .. VarInt(body.Count), .. body];
    }

    [Fact]
    public void Mqtt5_Will_WithEveryProperty_IsTakenOut_RestUnchanged()
    {
        byte[] willProperties =
        [
            0x18, 0x00, 0x00, 0x00, 0x1E, // Will Delay Interval 30
            0x01, 0x01, // Payload Format Indicator 1
            0x02, 0x00, 0x00, 0x00, 0x3C, // Message Expiry Interval 60
            0x03, .. Str("text/plain"),
            0x08, .. Str("replies/dev-1"),
            0x09, .. Bin([1, 2, 3]),
            0x26, .. Str("k1"), .. Str("v1"),
            0x26, .. Str("k2"), .. Str("v2"),
        ];
        // A payload long enough to need a two-byte remaining length, which shrinks to one byte.
        var payload = Encoding.UTF8.GetBytes(new string('x', 100));
        var original = Connect(5, willProperties, "status/dev-1", payload);
        Assert.True((original[1] & 0x80) != 0);

        var rewritten = ConnectWill.TryExtract(original, out var will);

        Assert.Equal(Connect(5, null, null, []), rewritten);
        Assert.NotNull(will);
        Assert.Equal("status/dev-1", will.Topic);
        Assert.Equal(payload, will.Payload);
        Assert.Equal(1, will.Qos);
        Assert.True(will.Retain);
        Assert.Equal(30u, will.DelaySeconds);
        Assert.Equal(1, will.PayloadFormatIndicator);
        Assert.Equal(60u, will.MessageExpiryInterval);
        Assert.Equal("text/plain", will.ContentType);
        Assert.Equal("replies/dev-1", will.ResponseTopic);
        Assert.Equal([1, 2, 3], will.CorrelationData);
        Assert.Equal([new KeyValuePair<string, string>("k1", "v1"), new KeyValuePair<string, string>("k2", "v2")], will.UserProperties!);

        Assert.Null(ConnectPacketInspector.Inspect(rewritten, out var summary));
        Assert.False(summary.HasWill);
        Assert.Equal(3600u, summary.SessionExpiryInterval);
    }

    [Fact]
    public void Mqtt311_Will_IsTakenOut()
    {
        var original = Connect(4, null, "status/dev-1", "offline"u8.ToArray(), willQos: 2, willRetain: false);
        Assert.Null(ConnectPacketInspector.Inspect(original, out var before));
        Assert.True(before.HasWill);

        var rewritten = ConnectWill.TryExtract(original, out var will);

        Assert.Equal(Connect(4, null, null, []), rewritten);
        Assert.Equal(("status/dev-1", "offline", 2, false, 0u), (will!.Topic, Encoding.UTF8.GetString(will.Payload), will.Qos, will.Retain, will.DelaySeconds));
        Assert.Null(will.UserProperties);
    }

    [Fact]
    public void ConnectWithoutWill_IsNotRewritten()
    {
        Assert.Null(ConnectWill.TryExtract(Connect(5, null, null, []), out var will));
        Assert.Null(will);
    }
}
