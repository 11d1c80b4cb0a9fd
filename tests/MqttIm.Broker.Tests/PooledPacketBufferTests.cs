using System.Buffers;
using System.IO.Pipelines;
using MqttIm.Broker.Listeners;

namespace MqttIm.Broker.Tests;

/// <summary>The write buffer behind the listener's output layers: keeps what is written, holds no array once emptied.</summary>
public sealed class PooledPacketBufferTests
{
    [Fact]
    public void Writes_PastTheFirstRent_KeepEveryByteInOrder()
    {
        var buffer = new PooledPacketBuffer();
        var data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();

        buffer.Write(data.AsSpan(0, 200));
        buffer.Write(data.AsSpan(200));

        Assert.Equal(data, buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public void DropFirst_KeepsTheTail_AndDroppingAllEmptiesIt()
    {
        var buffer = new PooledPacketBuffer();
        buffer.Write(new byte[] { 1, 2, 3, 4, 5 });

        buffer.DropFirst(3);
        Assert.Equal(new byte[] { 4, 5 }, buffer.WrittenSpan.ToArray());

        buffer.DropFirst(2);
        Assert.Equal(0, buffer.WrittenCount);
        Assert.True(buffer.WrittenMemory.IsEmpty);
    }

    [Fact]
    public void Advance_BeyondTheMemoryHandedOut_Throws()
    {
        var buffer = new PooledPacketBuffer();
        var handedOut = buffer.GetSpan(10).Length;

        Assert.Throws<InvalidOperationException>(() => buffer.Advance(handedOut + 1));
    }

    [Fact]
    public async Task SharedOutput_SendsWholePackets_AndKeepsAPartialOneForTheNextFlush()
    {
        var pipe = new Pipe();
        var output = new SharedOutputWriter(pipe.Writer, 0);

        // A PINGRESP and the first byte of a second PINGRESP: only the whole one goes out.
        output.Write(new byte[] { 0xD0, 0x00, 0xD0 });
        await output.FlushAsync();
        Assert.True(pipe.Reader.TryRead(out var first));
        Assert.Equal(new byte[] { 0xD0, 0x00 }, first.Buffer.ToArray());
        pipe.Reader.AdvanceTo(first.Buffer.End);

        output.Write(new byte[] { 0x00 });
        await output.FlushAsync();
        Assert.True(pipe.Reader.TryRead(out var second));
        Assert.Equal(new byte[] { 0xD0, 0x00 }, second.Buffer.ToArray());
    }
}
