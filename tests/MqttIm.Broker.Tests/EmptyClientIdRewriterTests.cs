using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using MqttIm.Broker.Listeners;

namespace MqttIm.Broker.Tests;

public sealed class EmptyClientIdRewriterTests
{
    /// <summary>A CONNECT of the given protocol level with username and password, as mosquitto_pub sends it.</summary>
    private static byte[] Connect(byte level, string clientId, bool v5Properties = false)
    {
        var body = new List<byte>();
        void Str(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            body.Add((byte)(bytes.Length >> 8));
            body.Add((byte)bytes.Length);
            body.AddRange(bytes);
        }

        Str("MQTT");
        body.Add(level);
        body.Add(0b1100_0010); // username, password, clean session
        body.AddRange([0x00, 0x3C]);
        if (v5Properties)
        {
            body.Add(0);
        }

        Str(clientId);
        Str("alice");
        Str("token");
        return [0x10, (byte)body.Count, .. body];
    }

    [Fact]
    public void Mqtt311_EmptyClientId_GetsAnAssignedOne_RestUnchanged()
    {
        var original = Connect(4, "");

        var rewritten = EmptyClientIdRewriter.TryRewrite(original);

        Assert.NotNull(rewritten);
        Assert.True(EmptyClientIdRewriter.TryReadAnnouncedLength(new ReadOnlySequence<byte>(rewritten), out var total));
        Assert.Equal(rewritten.Length, total);
        var idLength = BinaryPrimitives.ReadUInt16BigEndian(rewritten.AsSpan(12));
        var id = Encoding.ASCII.GetString(rewritten, 14, idLength);
        Assert.StartsWith(EmptyClientIdRewriter.Prefix, id);
        Assert.Equal(original[12..].Skip(2).ToArray(), rewritten[(14 + idLength)..]);
    }

    [Theory]
    [InlineData(4, "given-id", false)]
    [InlineData(5, "", true)]
    [InlineData(5, "v5-id", true)]
    public void OtherConnects_AreLeftAlone(byte level, string clientId, bool v5)
    {
        Assert.Null(EmptyClientIdRewriter.TryRewrite(Connect(level, clientId, v5)));
    }

    [Fact]
    public void NonConnectPacket_IsLeftAlone()
    {
        Assert.Null(EmptyClientIdRewriter.TryRewrite([0x30, 0x02, 0x00, 0x00]));
    }

    [Fact]
    public void AnnouncedLength_NeedsTheWholeHeader()
    {
        Assert.False(EmptyClientIdRewriter.TryReadAnnouncedLength(new ReadOnlySequence<byte>([0x10, 0x80]), out _));
        Assert.True(EmptyClientIdRewriter.TryReadAnnouncedLength(new ReadOnlySequence<byte>([0x10, 0x80, 0x01]), out var total));
        Assert.Equal(3 + 128, total);
    }
}
