using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

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
    private readonly ControlPacketValidator? _validator;
    private readonly Action<ProtocolViolation>? _onProtocolViolation;
    private long _checkedUpTo;

    // A duplicate QoS 2 PUBLISH replaced by its harmless stand-in (see DuplicateQos2Publish), served until consumed.
    private ReadOnlySequence<byte> _standIn;
    private bool _servingStandIn;

    private ReadOnlySequence<byte> _lastBuffer;
    private long _consumedTotal;
    private long _scannedTotal;

    // Framing state: between packets, inside the remaining-length varint, or skipping a body.
    private bool _inLength;
    private int _lengthBytes;
    private long _lengthValue;
    private long _lengthMultiplier;
    private long _bodyRemaining;

    public MqttPacketSizeGuard(PipeReader inner, long maxPacketBytes, Action<long> onViolation,
        ControlPacketValidator? validator = null, Action<ProtocolViolation>? onProtocolViolation = null)
    {
        _inner = inner;
        _maxPacketBytes = maxPacketBytes;
        _onViolation = onViolation;
        _validator = validator;
        _onProtocolViolation = onProtocolViolation;
    }

    /// <summary>Packets are checked from this absolute stream offset on (the CONNECT before it was checked by the handler).</summary>
    public long CheckFrom
    {
        init => _checkedUpTo = value;
    }

    /// <summary>
    /// A packet MQTTnet reads before the inner input (a rewritten CONNECT whose original the input has consumed), served
    /// like a stand-in: it is not scanned or validated again.
    /// </summary>
    public byte[]? FirstPacket
    {
        init
        {
            if (value is not null)
            {
                _standIn = new ReadOnlySequence<byte>(value);
                _servingStandIn = true;
            }
        }
    }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_servingStandIn || TryServeInjected())
        {
            return new ReadResult(_standIn, isCanceled: false, isCompleted: false);
        }

        var result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        while (result.IsCanceled && _injected is not null)
        {
            // Woken by Inject (MQTTnet never cancels reads itself): nothing read is consumed or examined.
            _inner.AdvanceTo(result.Buffer.Start);
            if (TryServeInjected())
            {
                return new ReadResult(_standIn, isCanceled: false, isCompleted: false);
            }

            result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        Inspect(result.Buffer);
        return CheckNextPacket(result);
    }

    /// <summary>
    /// Hands MQTTnet <paramref name="packet"/> as if the client had sent it, between two of the client's packets (the
    /// outbound flow layer acknowledges messages it dropped this way). Safe to call from any thread.
    /// </summary>
    public void Inject(byte[] packet)
    {
        LazyInitializer.EnsureInitialized(ref _injected).Enqueue(packet);
        try
        {
            _inner.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The connection is already gone.
        }
    }

    private ConcurrentQueue<byte[]>? _injected;

    private bool TryServeInjected()
    {
        if (_injected is null || !_injected.TryDequeue(out var packet))
        {
            return false;
        }

        _standIn = new ReadOnlySequence<byte>(packet);
        _servingStandIn = true;
        return true;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_servingStandIn || TryServeInjected())
        {
            result = new ReadResult(_standIn, isCanceled: false, isCompleted: false);
            return true;
        }

        if (!_inner.TryRead(out result))
        {
            return false;
        }

        if (result.IsCanceled && _injected is not null)
        {
            _inner.AdvanceTo(result.Buffer.Start);
            if (TryServeInjected())
            {
                result = new ReadResult(_standIn, isCanceled: false, isCompleted: false);
                return true;
            }

            return false;
        }

        Inspect(result.Buffer);
        result = CheckNextPacket(result);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_servingStandIn)
        {
            // The real duplicate was already consumed from the inner reader; this only retires the stand-in.
            _servingStandIn = !_standIn.Slice(consumed).IsEmpty;
            return;
        }

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

    /// <summary>
    /// Looks at the packet MQTTnet is about to decode (the one at the start of the buffer), once. Two jobs: the
    /// validator's spec checks, and half-open peers. MQTTnet.AspNetCore spins forever when the input has completed with
    /// an incomplete packet still buffered, so such a read ends the connection here instead.
    /// </summary>
    private ReadResult CheckNextPacket(in ReadResult result)
    {
        var buffer = result.Buffer;
        if (_consumedTotal < _checkedUpTo || (_validator is null && !result.IsCompleted))
        {
            return result;
        }

        var first = buffer.FirstSpan;
        long length;
        if (!TryReadLength(first, out length) && !EmptyClientIdRewriter.TryReadAnnouncedLength(buffer, out length))
        {
            length = long.MaxValue;
        }

        if (buffer.Length < length)
        {
            if (result.IsCompleted && !buffer.IsEmpty)
            {
                throw new ConnectionClosedMidPacketException();
            }

            return result;
        }

        if (_validator is not null)
        {
            Validate(buffer, first, (int)length);
            if (_validator.TakeDuplicate(out var packetId))
            {
                return ServeInstead(buffer, length, DuplicateStandIn(packetId, _validator.IsMqtt5));
            }

            if (_validator.TakeRewritten(out var rewritten))
            {
                return ServeInstead(buffer, length, rewritten);
            }
        }

        _checkedUpTo = _consumedTotal + length;
        return result;
    }

    /// <summary>Consumes the client's packet and serves <paramref name="standIn"/> to MQTTnet in its place.</summary>
    private ReadResult ServeInstead(in ReadOnlySequence<byte> buffer, long length, byte[] standIn)
    {
        _lastBuffer = buffer;
        _inner.AdvanceTo(buffer.GetPosition(length));
        _consumedTotal += length;
        _checkedUpTo = _consumedTotal;
        _standIn = new ReadOnlySequence<byte>(standIn);
        _servingStandIn = true;
        return new ReadResult(_standIn, isCanceled: false, isCompleted: false);
    }

    /// <summary>A QoS 2 PUBLISH with the same packet id to the reserved topic the publish hook drops.</summary>
    private static byte[] DuplicateStandIn(ushort packetId, bool mqtt5)
    {
        var topic = System.Text.Encoding.ASCII.GetBytes(MqttIm.ImExtensions.Routing.DuplicateQos2Publish.Topic);
        var remaining = 2 + topic.Length + 2 + (mqtt5 ? 1 : 0);
        var packet = new byte[2 + remaining];
        packet[0] = 0x34;
        packet[1] = (byte)remaining;
        packet[2] = 0;
        packet[3] = (byte)topic.Length;
        topic.CopyTo(packet, 4);
        packet[4 + topic.Length] = (byte)(packetId >> 8);
        packet[5 + topic.Length] = (byte)packetId;
        return packet;
    }

    private void Validate(in ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> first, int length)
    {
        ProtocolViolation? violation;
        if (first.Length >= length)
        {
            violation = _validator!.Validate(first[..length], complete: true, out _);
        }
        else
        {
            // The packet spans segments: its fields are checked on a copy of its start, and of all of it only if needed.
            var prefixLength = Math.Min(length, 1024);
            var rented = ArrayPool<byte>.Shared.Rent(prefixLength);
            try
            {
                buffer.Slice(0, prefixLength).CopyTo(rented);
                violation = _validator!.Validate(rented.AsSpan(0, prefixLength), prefixLength == length, out var needsWhole);
                if (needsWhole)
                {
                    var whole = buffer.Slice(0, length).ToArray();
                    violation = _validator.Validate(whole, complete: true, out _);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        if (violation is { } v)
        {
            _onProtocolViolation?.Invoke(v);
            throw new ProtocolViolationException(v);
        }
    }

    /// <summary>Fast path of the fixed header on a single span; false when it does not fit there.</summary>
    private static bool TryReadLength(ReadOnlySpan<byte> span, out long totalLength)
    {
        totalLength = 0;
        long remaining = 0;
        var multiplier = 1;
        for (var i = 1; i < 5 && i < span.Length; i++)
        {
            remaining += (span[i] & 0x7F) * multiplier;
            multiplier *= 128;
            if ((span[i] & 0x80) == 0)
            {
                totalLength = i + 1 + remaining;
                return true;
            }
        }

        return false;
    }

    private void Fail(long announcedSize)
    {
        _onViolation(announcedSize);
        throw new InvalidDataException(announcedSize == long.MaxValue
            ? "malformed MQTT remaining length"
            : $"MQTT packet of {announcedSize} bytes exceeds the limit of {_maxPacketBytes} bytes");
    }
}

/// <summary>The client closed its side (FIN, or a WebSocket close) in the middle of a packet.</summary>
internal sealed class ConnectionClosedMidPacketException() : ConnectionAbortedException("the client closed its side in the middle of a packet");
