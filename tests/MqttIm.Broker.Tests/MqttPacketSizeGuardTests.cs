using System.Buffers;
using System.IO.Pipelines;
using MqttIm.Broker.Listeners;

namespace MqttIm.Broker.Tests;

public sealed class MqttPacketSizeGuardTests
{
    private static byte[] Packet(byte type, int bodyLength)
    {
        var header = new List<byte> { type };
        var value = bodyLength;
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            header.Add(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);
        return [.. header, .. new byte[bodyLength]];
    }

    /// <summary>Writes the bytes in chunks of the given size and reads everything through the guard, consuming as it goes.</summary>
    private static async Task<long> ReadThroughGuardAsync(byte[] stream, int chunk, long limit, List<long>? violations = null)
    {
        var pipe = new Pipe();
        var guard = new MqttPacketSizeGuard(pipe.Reader, limit, size => violations?.Add(size));
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < stream.Length; i += chunk)
            {
                await pipe.Writer.WriteAsync(stream.AsMemory(i, Math.Min(chunk, stream.Length - i)));
            }

            await pipe.Writer.CompleteAsync();
        });

        long total = 0;
        while (true)
        {
            var result = await guard.ReadAsync();
            // Consume half of what is there, to exercise partially consumed buffers.
            var take = result.IsCompleted ? result.Buffer.Length : (result.Buffer.Length + 1) / 2;
            total += take;
            guard.AdvanceTo(result.Buffer.GetPosition(take), result.Buffer.End);
            if (result.IsCompleted && take == result.Buffer.Length)
            {
                break;
            }
        }

        await writer;
        return total;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public async Task PacketsWithinLimit_PassUntouched_WhateverTheChunking(int chunk)
    {
        byte[] stream = [.. Packet(0x10, 20), .. Packet(0x30, 127), .. Packet(0x30, 128), .. Packet(0x30, 16_000), .. Packet(0xC0, 0)];

        Assert.Equal(stream.Length, await ReadThroughGuardAsync(stream, chunk, limit: 16_010));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task PacketOverLimit_FailsTheRead_OnItsHeader(int chunk)
    {
        byte[] stream = [.. Packet(0x30, 100), .. Packet(0x30, 5000), .. Packet(0x30, 10)];
        var violations = new List<long>();

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadThroughGuardAsync(stream, chunk, limit: 1024, violations));

        Assert.Contains("exceeds the limit", error.Message);
        Assert.Equal([1 + 2 + 5000L], violations);
    }

    [Fact]
    public async Task RemainingLengthOfFiveBytes_IsMalformed()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => ReadThroughGuardAsync([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], 1, limit: 1 << 28));
    }
}
