using System.Buffers;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// The bytes a connection's writer collects until they make whole packets, in an array rented from the shared pool
/// and given back whenever it is emptied: an idle connection holds no write buffer (issue 8: idle memory).
/// Single-writer, like the <see cref="System.IO.Pipelines.PipeWriter"/>s that use it.
/// </summary>
internal sealed class PooledPacketBuffer : IBufferWriter<byte>
{
    private const int MinimumRent = 256;
    private byte[]? _buffer;
    private int _written;

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count)
    {
        if (count < 0 || _written + count > (_buffer?.Length ?? 0))
        {
            throw new InvalidOperationException("Advanced past the end of the memory handed out");
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_written);

    public Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_written);

    /// <summary>Forgets what was written and gives the array back; memory handed out before must not be used after.</summary>
    public void Clear()
    {
        _written = 0;
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Keeps only the written bytes from <paramref name="consumed"/> on (the start of a packet not yet whole).</summary>
    public void DropFirst(int consumed)
    {
        if (consumed >= _written)
        {
            Clear();
            return;
        }

        _buffer.AsSpan(consumed, _written - consumed).CopyTo(_buffer);
        _written -= consumed;
    }

    private byte[] Reserve(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            return _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, MinimumRent));
        }

        if (_buffer.Length - _written >= sizeHint)
        {
            return _buffer;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(checked(Math.Max(_buffer.Length * 2, _written + sizeHint)));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        return _buffer = bigger;
    }
}
