using System.Buffers;
using System.IO.Pipelines;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Wraps a connection's input and follows MQTT framing (fixed header + remaining length) without copying bytes,
/// failing the read as soon as a header announces a packet above the limit. MQTTnet itself would buffer whatever
/// the remaining length claims, so a 15-byte header could make it hold 200 MB.
/// </summary>
internal sealed class MqttPacketSizeGuard : PipeReader
{
    private readonly PipeReader _inner;
    private readonly long _maxPacketBytes;
    private readonly Action<long> _onViolation;

    private ReadOnlySequence<byte> _lastBuffer;
    private long _consumedTotal;
    private long _scannedTotal;

    // Framing state: between packets, inside the remaining-length varint, or skipping a body.
    private bool _inLength;
    private int _lengthBytes;
    private long _lengthValue;
    private long _lengthMultiplier;
    private long _bodyRemaining;

    public MqttPacketSizeGuard(PipeReader inner, long maxPacketBytes, Action<long> onViolation)
    {
        _inner = inner;
        _maxPacketBytes = maxPacketBytes;
        _onViolation = onViolation;
    }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        Inspect(result.Buffer);
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!_inner.TryRead(out result))
        {
            return false;
        }

        Inspect(result.Buffer);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _consumedTotal += _lastBuffer.Slice(_lastBuffer.Start, consumed).Length;
        _inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    /// <summary>
    /// MQTTnet is done reading. The inner reader stays open so the handler can drain what the client still sends:
    /// closing a socket with unread input makes the kernel send RST, which can destroy a DISCONNECT not yet read by the client.
    /// </summary>
    public override void Complete(Exception? exception = null) => IsCompleted = true;

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        IsCompleted = true;
        return ValueTask.CompletedTask;
    }

    /// <summary>Whether MQTTnet completed this reader.</summary>
    public bool IsCompleted { get; private set; }

    private void Inspect(in ReadOnlySequence<byte> buffer)
    {
        _lastBuffer = buffer;
        var alreadyScanned = _scannedTotal - _consumedTotal;
        if (alreadyScanned >= buffer.Length)
        {
            return;
        }

        var fresh = buffer.Slice(alreadyScanned);
        foreach (var segment in fresh)
        {
            Scan(segment.Span);
        }

        _scannedTotal += fresh.Length;
    }

    private void Scan(ReadOnlySpan<byte> span)
    {
        var i = 0;
        while (i < span.Length)
        {
            if (_bodyRemaining > 0)
            {
                var skip = (int)Math.Min(_bodyRemaining, span.Length - i);
                i += skip;
                _bodyRemaining -= skip;
                continue;
            }

            if (!_inLength)
            {
                // Packet type and flags byte; the remaining length follows.
                i++;
                _inLength = true;
                _lengthBytes = 0;
                _lengthValue = 0;
                _lengthMultiplier = 1;
                continue;
            }

            var b = span[i++];
            _lengthValue += (b & 0x7F) * _lengthMultiplier;
            _lengthMultiplier *= 128;
            _lengthBytes++;
            if ((b & 0x80) != 0)
            {
                if (_lengthBytes == 4)
                {
                    Fail(long.MaxValue);
                }

                continue;
            }

            var packetSize = 1 + _lengthBytes + _lengthValue;
            if (packetSize > _maxPacketBytes)
            {
                Fail(packetSize);
            }

            _inLength = false;
            _bodyRemaining = _lengthValue;
        }
    }

    private void Fail(long announcedSize)
    {
        _onViolation(announcedSize);
        throw new InvalidDataException(announcedSize == long.MaxValue
            ? "malformed MQTT remaining length"
            : $"MQTT packet of {announcedSize} bytes exceeds the limit of {_maxPacketBytes} bytes");
    }
}
