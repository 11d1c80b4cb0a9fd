using System.Buffers;
using System.Text;
using MqttIm.Broker.Listeners;

namespace MqttIm.Broker.Tests;

/// <summary>The packet layer hands <c>$share/</c> filters past MQTTnet 5.2's own refusal, with the Subscription Identifier.</summary>
public sealed class SharedSubscribeRewriterTests
{
    private static byte[] Str(string s) => [(byte)(Encoding.UTF8.GetByteCount(s) >> 8), (byte)Encoding.UTF8.GetByteCount(s), .. Encoding.UTF8.GetBytes(s)];

    private static byte[] Packet(byte first, params byte[][] parts)
    {
        var body = parts.SelectMany(p => p).ToArray();
        return [first, (byte)body.Length, .. body];
    }

    [Fact]
    public void NoSharedFilter_NothingToRewrite()
    {
        var subscribe = Packet(0x82, [0x00, 0x01], Str("jobs/#"), [0x01]);

        Assert.Null(SharedSubscribeRewriter.Rewrite(subscribe, mqtt5: false, out var violation));
        Assert.Null(violation);
    }

    [Fact]
    public void Mqtt311_SharedFilterRewritten_OthersKept()
    {
        var subscribe = Packet(0x82, [0x00, 0x07], Str("plain/x"), [0x00], Str("$share/g/jobs/#"), [0x01]);

        var rewritten = SharedSubscribeRewriter.Rewrite(subscribe, mqtt5: false, out var violation);

        Assert.Null(violation);
        Assert.Equal(Packet(0x82, [0x00, 0x07], Str("plain/x"), [0x00], Str("\0share/0/g/jobs/#"), [0x01]), rewritten);
    }

    [Fact]
    public void Mqtt5_SubscriptionIdentifierTravelsWithTheFilter_PropertiesKept()
    {
        // Properties: Subscription Identifier 300 (variable byte integer 0xAC 0x02).
        var subscribe = Packet(0x82, [0x00, 0x02, 0x03, 0x0B, 0xAC, 0x02], Str("$share/workers/a/+"), [0x2A]);

        var rewritten = SharedSubscribeRewriter.Rewrite(subscribe, mqtt5: true, out var violation);

        Assert.Null(violation);
        Assert.Equal(Packet(0x82, [0x00, 0x02, 0x03, 0x0B, 0xAC, 0x02], Str("\0share/300/workers/a/+"), [0x2A]), rewritten);
    }

    [Fact]
    public void Mqtt5_NoLocalOnASharedFilter_IsAProtocolError()
    {
        var subscribe = Packet(0x82, [0x00, 0x02, 0x00], Str("$share/g/a"), [0x05]);

        Assert.Null(SharedSubscribeRewriter.Rewrite(subscribe, mqtt5: true, out var violation));
        Assert.Equal(ProtocolViolation.ProtocolError, violation?.ReasonCode);
    }

    [Fact]
    public void Validator_HandsTheRewrittenSubscribeOn_OnceOnly()
    {
        var validator = new ControlPacketValidator(5, 16, 1024);
        var subscribe = Packet(0x82, [0x00, 0x02, 0x00], Str("$share/g/a"), [0x01]);

        Assert.Null(validator.Validate(subscribe, complete: true, out _));

        Assert.True(validator.TakeRewritten(out var rewritten));
        Assert.Equal(Packet(0x82, [0x00, 0x02, 0x00], Str("\0share/0/g/a"), [0x01]), rewritten);
        Assert.False(validator.TakeRewritten(out _));
    }

    [Fact]
    public async Task Guard_ServesTheRewrittenSubscribe_ThenTheNextPacket()
    {
        var pipe = new System.IO.Pipelines.Pipe();
        var validator = new ControlPacketValidator(4, 16, 1024);
        var guard = new MqttPacketSizeGuard(pipe.Reader, 1024 * 1024, _ => { }, validator);
        var subscribe = Packet(0x82, [0x00, 0x03], Str("$share/g/a"), [0x01]);
        await pipe.Writer.WriteAsync(subscribe.Concat(new byte[] { 0xC0, 0x00 }).ToArray());

        var first = await guard.ReadAsync();
        Assert.Equal(Packet(0x82, [0x00, 0x03], Str("\0share/0/g/a"), [0x01]), first.Buffer.ToArray());
        guard.AdvanceTo(first.Buffer.End);

        var second = await guard.ReadAsync();
        Assert.Equal([0xC0, 0x00], second.Buffer.ToArray());
    }
}
