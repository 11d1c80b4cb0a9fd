using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using MqttIm.Broker.Listeners;

namespace MqttIm.Broker.Tests;

/// <summary>The broker's own packet layer: half-open reads, per-packet spec checks, CONNECT checks, CONNACK rewrite.</summary>
public sealed class PacketLayerTests
{
    private static byte[] Str(string s) => [(byte)(Encoding.UTF8.GetByteCount(s) >> 8), (byte)Encoding.UTF8.GetByteCount(s), .. Encoding.UTF8.GetBytes(s)];

    private static byte[] Packet(byte first, params byte[][] parts)
    {
        var body = parts.SelectMany(p => p).ToArray();
        return [first, (byte)body.Length, .. body];
    }

    [Fact]
    public async Task InputCompletedWithPartialPacketBuffered_ReadFailsInsteadOfReturningItForever()
    {
        var pipe = new Pipe();
        var guard = new MqttPacketSizeGuard(pipe.Reader, 1024 * 1024, _ => { });
        await pipe.Writer.WriteAsync(new byte[] { 0x30, 0x20, 0x00, 0x05, (byte)'p' });
        await pipe.Writer.CompleteAsync();

        // MQTTnet.AspNetCore loops on such a read while its buffer is non-empty, ignoring IsCompleted: a spin.
        await Assert.ThrowsAsync<ConnectionClosedMidPacketException>(async () => await guard.ReadAsync());
    }

    [Fact]
    public async Task InputCompletedAfterWholePackets_ThoseAreStillDelivered()
    {
        var pipe = new Pipe();
        var guard = new MqttPacketSizeGuard(pipe.Reader, 1024 * 1024, _ => { });
        await pipe.Writer.WriteAsync(new byte[] { 0xC0, 0x00 });
        await pipe.Writer.CompleteAsync();

        var result = await guard.ReadAsync();
        Assert.Equal(2, result.Buffer.Length);
        guard.AdvanceTo(result.Buffer.End);
        result = await guard.ReadAsync();
        Assert.True(result.IsCompleted && result.Buffer.IsEmpty);
    }

    [Fact]
    public async Task ViolationInAPacketSpanningSegments_IsFoundOnTheWholePacket()
    {
        var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 16));
        var validator = new ControlPacketValidator(4, 16, 1024);
        ProtocolViolation? seen = null;
        var guard = new MqttPacketSizeGuard(pipe.Reader, 1024 * 1024, _ => { }, validator, v => seen = v);
        // SUBSCRIBE whose second filter is not UTF-8, written in small pieces so it spans segments.
        var subscribe = Packet(0x82, [0x00, 0x01], Str(new string('a', 40)), [0x00], [0x00, 0x02, (byte)'b', 0xFF], [0x00]);
        foreach (var chunk in subscribe.Chunk(10))
        {
            pipe.Writer.Write(chunk);
        }

        await pipe.Writer.FlushAsync();
        await Assert.ThrowsAsync<ProtocolViolationException>(async () => await guard.ReadAsync());
        Assert.Equal(ProtocolViolation.MalformedPacket, seen?.ReasonCode);
    }

    [Theory]
    [InlineData("a/+/b", ProtocolViolation.TopicNameInvalid)]
    [InlineData("a/#", ProtocolViolation.TopicNameInvalid)]
    [InlineData("a\0b", ProtocolViolation.TopicNameInvalid)]
    [InlineData("a/ok", null)]
    public void Publish_TopicNameChecks(string topic, byte? expected)
    {
        var validator = new ControlPacketValidator(5, 16, 1024);
        var publish = Packet(0x32, Str(topic), [0x00, 0x09], [0x00], "x"u8.ToArray());
        Assert.Equal(expected, validator.Validate(publish, complete: true, out _)?.ReasonCode);
    }

    [Fact]
    public void TopicAliases_BoundedInNumberAndBytes()
    {
        var validator = new ControlPacketValidator(5, 4, 100);
        byte[] Publish(string topic, ushort alias) => Packet(0x30, Str(topic), [0x03, 0x23, (byte)(alias >> 8), (byte)alias]);

        Assert.Null(validator.Validate(Publish(new string('t', 60), 1), true, out _));
        Assert.Null(validator.Validate(Publish("", 1), true, out _));
        Assert.Null(validator.Validate(Publish(new string('u', 30), 1), true, out _)); // replaces alias 1: 30 bytes held
        Assert.Equal(ProtocolViolation.TopicAliasInvalid, validator.Validate(Publish("x", 5), true, out _)?.ReasonCode);
        Assert.Equal(ProtocolViolation.TopicAliasInvalid, validator.Validate(Publish("x", 0), true, out _)?.ReasonCode);
        Assert.Equal(ProtocolViolation.ProtocolError, validator.Validate(Publish("", 2), true, out _)?.ReasonCode);
        Assert.Equal(ProtocolViolation.QuotaExceeded, validator.Validate(Publish(new string('v', 80), 2), true, out _)?.ReasonCode);
    }

    [Fact]
    public void Mqtt311Packets_ReservedFlagsAndEmptyLists()
    {
        var validator = new ControlPacketValidator(4, 16, 1024);
        Assert.Equal(ProtocolViolation.ProtocolError, validator.Validate(Packet(0x82, [0x00, 0x01]), true, out _)?.ReasonCode);
        Assert.Equal(ProtocolViolation.ProtocolError, validator.Validate(Packet(0xA2, [0x00, 0x01]), true, out _)?.ReasonCode);
        Assert.Equal(ProtocolViolation.MalformedPacket, validator.Validate(Packet(0x60, [0x00, 0x01]), true, out _)?.ReasonCode);
        Assert.Equal(ProtocolViolation.MalformedPacket, validator.Validate(Packet(0x36, Str("a"), [0x00, 0x01]), true, out _)?.ReasonCode);
        Assert.Null(validator.Validate(Packet(0x62, [0x00, 0x01]), true, out _));
        Assert.Null(validator.Validate(Packet(0x82, [0x00, 0x01], Str("a/#"), [0x01]), true, out _));
    }

    [Fact]
    public void Connect_WillQos3AndReservedBit_Malformed_WellFormedOneSummarised()
    {
        byte[] Connect(byte flags, params byte[][] payload) => Packet(0x10, [.. Str("MQTT"), 4, flags, 0x00, 0x3C], [.. payload.SelectMany(p => p)]);

        Assert.Equal(ProtocolViolation.MalformedPacket, ConnectPacketInspector.Inspect(Connect(0x03, Str("id")), out _)?.ReasonCode);
        Assert.Equal(ProtocolViolation.MalformedPacket, ConnectPacketInspector.Inspect(Connect(0x1E, Str("id"), Str("w"), Str("m")), out _)?.ReasonCode);
        Assert.Null(ConnectPacketInspector.Inspect(Connect(0x00, Str("")), out var summary));
        Assert.Equal(new ConnectSummary(4, false, true, 60, 0, 0), summary);
    }

    [Fact]
    public void ConnAck_TopicAliasMaximumReplaced_MaximumPacketSizeServerKeepAliveAndSharedSubscriptionsAnnounced()
    {
        // As MQTTnet writes it: success, Topic Alias Maximum 65535, Shared Subscription Available 0.
        byte[] connAck = [0x20, 0x08, 0x00, 0x00, 0x05, 0x22, 0xFF, 0xFF, 0x2A, 0x00];

        var rewritten = ConnAckRewriter.Rewrite(connAck, new ConnAckAnnouncements(16, 1024 * 1024, 30));

        Assert.Equal([0x20, 0x10, 0x00, 0x00, 0x0D, 0x22, 0x00, 0x10, 0x27, 0x00, 0x10, 0x00, 0x00, 0x2A, 0x01, 0x13, 0x00, 0x1E], rewritten);
    }
}
