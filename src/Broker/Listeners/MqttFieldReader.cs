using System.Buffers.Binary;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Reads MQTT wire fields (bytes, two-byte integers, variable byte integers, length-prefixed strings, properties)
/// from one packet's bytes without allocating. Every read says whether the bytes were there.
/// </summary>
internal ref struct MqttFieldReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }

    public readonly int Remaining => _data.Length - Position;

    public bool TryReadByte(out byte value)
    {
        if (Position >= _data.Length)
        {
            value = 0;
            return false;
        }

        value = _data[Position++];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        if (Remaining < 2)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(_data[Position..]);
        Position += 2;
        return true;
    }

    public bool TryReadUInt32(out uint value)
    {
        if (Remaining < 4)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt32BigEndian(_data[Position..]);
        Position += 4;
        return true;
    }

    /// <summary>A variable byte integer; false when truncated or longer than four bytes.</summary>
    public bool TryReadVarInt(out int value)
    {
        value = 0;
        var multiplier = 1;
        for (var i = 0; i < 4; i++)
        {
            if (!TryReadByte(out var b))
            {
                return false;
            }

            value += (b & 0x7F) * multiplier;
            if ((b & 0x80) == 0)
            {
                return true;
            }

            multiplier *= 128;
        }

        return false;
    }

    /// <summary>A two-byte length followed by that many bytes (a UTF-8 string or binary data).</summary>
    public bool TryReadPrefixed(out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!TryReadUInt16(out var length) || Remaining < length)
        {
            return false;
        }

        value = _data.Slice(Position, length);
        Position += length;
        return true;
    }

    public bool TrySkip(int count)
    {
        if (count < 0 || Remaining < count)
        {
            return false;
        }

        Position += count;
        return true;
    }

    /// <summary>The bytes from here to the end.</summary>
    public readonly ReadOnlySpan<byte> Rest => _data[Position..];
}
