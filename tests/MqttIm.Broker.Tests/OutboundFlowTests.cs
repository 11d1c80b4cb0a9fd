using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using MqttIm.Broker.Listeners;
using MqttIm.ImExtensions.Flow;

namespace MqttIm.Broker.Tests;

/// <summary>The outbound flow layer on its own: expiry rewrite, Receive Maximum holding, drops acknowledged to MQTTnet.</summary>
public sealed class OutboundFlowTests
{
    private static byte[] Str(string s) => [(byte)(Encoding.UTF8.GetByteCount(s) >> 8), (byte)Encoding.UTF8.GetByteCount(s), .. Encoding.UTF8.GetBytes(s)];

    private static byte[] UserProperty(string key, string value) => [0x26, .. Str(key), .. Str(value)];

    /// <summary>An MQTT 5 PUBLISH (remaining length below 128).</summary>
    private static byte[] Publish(int qos, ushort packetId, byte[] properties, string payload)
    {
        byte[] body = [.. Str("t/1"), .. qos > 0 ? new[] { (byte)(packetId >> 8), (byte)packetId } : [], (byte)properties.Length, .. properties, .. Encoding.UTF8.GetBytes(payload)];
        return [(byte)(0x30 | (qos << 1)), (byte)body.Length, .. body];
    }

    private static byte[] Expiry(uint seconds) => [0x02, (byte)(seconds >> 24), (byte)(seconds >> 16), (byte)(seconds >> 8), (byte)seconds];

    [Fact]
    public void StampedPublish_StampRemoved_ExpiryLoweredByTheWaitRoundedUp_OtherPropertiesKept()
    {
        var packet = Publish(1, 7, [.. Expiry(10), .. UserProperty(MessageExpiryStamp.Key, "1000"), .. UserProperty("a", "b")], "hi");

        Assert.Equal(ExpiryOutcome.Rewritten, OutboundPublish.ApplyExpiry(packet, nowMs: 3_500, out var rewritten));

        // 10 s minus 2.5 s waited = 7.5 s, sent as 8; same packet otherwise.
        Assert.Equal(Publish(1, 7, [.. Expiry(8), .. UserProperty("a", "b")], "hi"), rewritten);
    }

    [Fact]
    public void StampedPublish_PastItsExpiry_Expired()
    {
        var packet = Publish(0, 0, [.. UserProperty(MessageExpiryStamp.Key, "1000"), .. Expiry(10)], "hi");

        Assert.Equal(ExpiryOutcome.Expired, OutboundPublish.ApplyExpiry(packet, nowMs: 11_000, out _));
        Assert.Equal(ExpiryOutcome.Rewritten, OutboundPublish.ApplyExpiry(packet, nowMs: 10_999, out var rewritten));
        Assert.Equal(Publish(0, 0, Expiry(1), "hi"), rewritten);
    }

    [Fact]
    public void PublishWithoutStamp_Unchanged()
    {
        Assert.Equal(ExpiryOutcome.Unchanged, OutboundPublish.ApplyExpiry(Publish(1, 1, Expiry(5), "x"), 0, out _));
        Assert.Equal(ExpiryOutcome.Unchanged, OutboundPublish.ApplyExpiry(Publish(1, 1, [], "x"), 0, out _));
    }

    [Fact]
    public async Task ReceiveMaximum_HoldsTheThirdQos1_PassesQos0_ReleasesOnPubAck()
    {
        var (writer, sent, injected) = Create(new ClientFlowLimits(2, 0));

        await writer.WriteAsync(Publish(1, 1, [], "a"));
        await writer.WriteAsync(Publish(1, 2, [], "b"));
        await writer.WriteAsync(Publish(1, 3, [], "c"));
        await writer.WriteAsync(Publish(0, 0, [], "z"));
        Assert.Equal(["a", "b", "z"], await ReadPayloadsAsync(sent, 3));
        Assert.Equal(1, writer.Held);

        writer.OnClientAck(5, 1, 0x00); // PUBREC success does not end a QoS 1 slot that is not there; nothing changes
        writer.OnClientAck(4, 1, 0x00);
        Assert.Equal(["c"], await ReadPayloadsAsync(sent, 1));
        Assert.Equal(0, writer.Held);
        Assert.Equal(2, writer.InFlight);
        Assert.Empty(injected);
    }

    [Fact]
    public async Task TooLargeQos1_Dropped_AndAcknowledgedToMqttnet_Qos2CompletedOnItsPubrel()
    {
        var (writer, sent, injected) = Create(new ClientFlowLimits(0, 20));

        await writer.WriteAsync(Publish(1, 9, [], new string('x', 40)));
        await writer.WriteAsync(Publish(2, 10, [], new string('y', 40)));
        await writer.WriteAsync(new byte[] { 0x62, 0x02, 0x00, 0x0A }); // MQTTnet's PUBREL for the dropped QoS 2
        await writer.WriteAsync(Publish(0, 0, [], "ok"));

        Assert.Equal(["ok"], await ReadPayloadsAsync(sent, 1));
        Assert.Equal([[0x40, 0x02, 0x00, 0x09], [0x50, 0x02, 0x00, 0x0A], [0x70, 0x02, 0x00, 0x0A]], injected);
    }

    [Fact]
    public async Task PacketWrittenInPieces_FramedBeforeItIsJudged()
    {
        var (writer, sent, _) = Create(new ClientFlowLimits(1, 0));
        var packet = Publish(1, 1, [], "whole");

        await writer.WriteAsync(packet.AsMemory(0, 3));
        packet.AsSpan(3).CopyTo(writer.GetSpan(packet.Length - 3));
        writer.Advance(packet.Length - 3);
        await writer.FlushAsync();

        Assert.Equal(["whole"], await ReadPayloadsAsync(sent, 1));
        Assert.Equal(1, writer.InFlight);
    }

    private static (OutboundFlowWriter Writer, PipeReader Sent, List<byte[]> Injected) Create(ClientFlowLimits limits)
    {
        var pipe = new Pipe();
        var injected = new List<byte[]>();
        var writer = new OutboundFlowWriter(pipe.Writer, limits, 100, p =>
        {
            lock (injected)
            {
                injected.Add(p);
            }
        }, new FakeTimeProvider());
        return (writer, pipe.Reader, injected);
    }

    private static async Task<List<string>> ReadPayloadsAsync(PipeReader reader, int count)
    {
        var payloads = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (payloads.Count < count)
        {
            var result = await reader.ReadAsync(cts.Token);
            var buffer = result.Buffer.ToArray();
            var offset = 0;
            while (offset + 2 <= buffer.Length && offset + 2 + buffer[offset + 1] <= buffer.Length)
            {
                var packet = buffer.AsSpan(offset, 2 + buffer[offset + 1]);
                var qos = (packet[0] >> 1) & 3;
                var at = 2 + 2 + ((packet[2] << 8) | packet[3]) + (qos > 0 ? 2 : 0);
                at += 1 + packet[at];
                payloads.Add(Encoding.UTF8.GetString(packet[at..]));
                offset += packet.Length;
            }

            reader.AdvanceTo(result.Buffer.GetPosition(offset), result.Buffer.End);
        }

        return payloads;
    }
}
