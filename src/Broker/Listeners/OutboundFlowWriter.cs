using System.Buffers;
using System.IO.Pipelines;
using Prometheus;

namespace MqttIm.Broker.Listeners;

/// <summary>What an MQTT 5 client asked of the server's sends in its CONNECT (0 = not given).</summary>
internal readonly record struct ClientFlowLimits(ushort ReceiveMaximum, uint MaximumPacketSize, bool NoProblemInformation = false);

/// <summary>
/// Sits on an MQTT 5 connection's output, below MQTTnet, and does what MQTTnet 5.2 does not do on sends (DESIGN §12):
/// <list type="bullet">
/// <item>Client Receive Maximum: QoS 1/2 PUBLISHes beyond it wait here, in order, until the client acknowledges
/// (PUBACK, PUBCOMP, or PUBREC with an error code). Everything else (QoS 0, acks, PINGRESP) passes them.</item>
/// <item>Client Maximum Packet Size: a PUBLISH larger than the client allows is dropped for this client only.</item>
/// <item>Message expiry: a PUBLISH stamped by <see cref="ImExtensions.Flow.MessageExpiryStamp"/> is dropped once
/// expired, else sent with the stamp removed and the remaining interval.</item>
/// <item>Problem information: reason strings and user properties are left out of acknowledgements when the client
/// asked for that (Request Problem Information 0), and out of any other packet that would exceed its Maximum Packet Size.</item>
/// </list>
/// A dropped QoS 1/2 PUBLISH is acknowledged to MQTTnet in the client's name (the spec: behave as if the message was
/// sent), so MQTTnet does not keep it as unacknowledged forever. MQTTnet writes one packet at a time under its own
/// lock; releases of waiting packets come from the receive side, so writes to the transport are serialised here.
/// </summary>
internal sealed class OutboundFlowWriter : PipeWriter
{
    private static readonly Counter Dropped = Metrics.CreateCounter(
        "mqttim_outbound_dropped_total",
        "PUBLISHes not sent to one client: too_large (over the client's Maximum Packet Size) or expired (Message Expiry Interval passed).",
        "reason");

    private static readonly Counter.Child DroppedTooLarge = Dropped.WithLabels("too_large");
    private static readonly Counter.Child DroppedExpired = Dropped.WithLabels("expired");

    private readonly PipeWriter _inner;
    private readonly int _receiveMaximum;
    private readonly long _maxPacketSize;
    private readonly int _heldLimit;
    private readonly bool _noProblemInformation;
    private readonly Action<byte[]> _acknowledgeInbound;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly object _sync = new();

    // Bytes MQTTnet wrote that do not yet make a whole packet (or came through GetSpan/Advance).
    private readonly PooledPacketBuffer _pending = new();

    // Receive Maximum bookkeeping, only when the client announced one (under _sync).
    private readonly HashSet<ushort>? _inFlight;
    private readonly Queue<(ushort PacketId, byte[] Packet)>? _held;
    private TaskCompletionSource? _space;

    // QoS 2 packets dropped here: MQTTnet's PUBREL for them is answered here too.
    private HashSet<ushort>? _droppedQos2;
    private bool _completed;

    public OutboundFlowWriter(PipeWriter inner, ClientFlowLimits limits, int heldLimit, Action<byte[]> acknowledgeInbound, TimeProvider clock)
    {
        _inner = inner;
        _receiveMaximum = limits.ReceiveMaximum is 0 or ushort.MaxValue ? 0 : limits.ReceiveMaximum;
        _maxPacketSize = limits.MaximumPacketSize;
        _heldLimit = Math.Max(1, heldLimit);
        _noProblemInformation = limits.NoProblemInformation;
        _acknowledgeInbound = acknowledgeInbound;
        _clock = clock;
        if (_receiveMaximum > 0)
        {
            _inFlight = [];
            _held = new Queue<(ushort, byte[])>();
        }
    }

    /// <summary>QoS 1/2 PUBLISHes sent and not yet acknowledged (for tests).</summary>
    public int InFlight
    {
        get
        {
            lock (_sync)
            {
                return _inFlight?.Count ?? 0;
            }
        }
    }

    /// <summary>QoS 1/2 PUBLISHes waiting for the client's Receive Maximum (for tests).</summary>
    public int Held
    {
        get
        {
            lock (_sync)
            {
                return _held?.Count ?? 0;
            }
        }
    }

    /// <summary>
    /// The client acknowledged a PUBLISH (called by the receive side for PUBACK = 4, PUBREC = 5, PUBCOMP = 7): frees its
    /// slot when the exchange is over, and sends what waited for it.
    /// </summary>
    public void OnClientAck(int packetType, ushort packetId, byte reasonCode)
    {
        if (_inFlight is null || (packetType == 5 && reasonCode < 0x80))
        {
            return;
        }

        lock (_sync)
        {
            if (!_inFlight.Remove(packetId) || _held!.Count == 0)
            {
                return;
            }
        }

        _ = ReleaseHeldAsync();
    }

    public override bool CanGetUnflushedBytes => false;

    public override void Advance(int bytes) => _pending.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);

    public override void CancelPendingFlush() => _inner.CancelPendingFlush();

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (_pending.WrittenCount > 0)
        {
            _pending.Write(source.Span);
            return FlushAsync(cancellationToken);
        }

        return ProcessAsync(source, fromPending: false, cancellationToken);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        _pending.WrittenCount > 0
            ? ProcessAsync(_pending.WrittenMemory, fromPending: true, cancellationToken)
            : _inner.FlushAsync(cancellationToken);

    public override void Complete(Exception? exception = null)
    {
        Finish();
        _inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        Finish();
        return _inner.CompleteAsync(exception);
    }

    private void Finish()
    {
        var entered = _gate.Wait(TimeSpan.FromSeconds(2));
        try
        {
            lock (_sync)
            {
                _completed = true;
                _held?.Clear();
                _space?.TrySetResult();
            }

            // Whatever MQTTnet still wrote (e.g. a refusing CONNACK) goes out as is.
            if (_pending.WrittenCount > 0)
            {
                try
                {
                    _inner.Write(_pending.WrittenSpan);
                }
                catch (InvalidOperationException)
                {
                }
            }

            if (entered)
            {
                // Not while a writer may still hold the gate (and the array): that one is left to the GC.
                _pending.Clear();
            }
        }
        finally
        {
            if (entered)
            {
                _gate.Release();
            }
        }
    }

    private async ValueTask<FlushResult> ProcessAsync(ReadOnlyMemory<byte> data, bool fromPending, CancellationToken cancellationToken)
    {
        TaskCompletionSource? waitForSpace = null;
        FlushResult result;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var offset = 0;
            while (TryFrame(data.Span[offset..], out var length))
            {
                if (HandlePacket(data.Slice(offset, length)))
                {
                    lock (_sync)
                    {
                        if (_held!.Count >= _heldLimit && !_completed)
                        {
                            waitForSpace = _space ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        }
                    }
                }

                offset += length;
            }

            KeepRest(data[offset..], fromPending);
            result = await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        if (waitForSpace is not null)
        {
            // As many as MQTTnet's own queue holds wait here; beyond that MQTTnet's queue (and its drop policy) takes over.
            await waitForSpace.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    private void KeepRest(ReadOnlyMemory<byte> rest, bool fromPending)
    {
        if (!fromPending)
        {
            if (!rest.IsEmpty)
            {
                _pending.Write(rest.Span);
            }

            return;
        }

        // The rest is the end of the pending bytes; once nothing is left the buffer goes back to the pool.
        _pending.DropFirst(_pending.WrittenCount - rest.Length);
    }

    /// <summary>Sends, holds or drops one whole packet. True when it was held for the Receive Maximum.</summary>
    private bool HandlePacket(ReadOnlyMemory<byte> packet)
    {
        var span = packet.Span;
        switch (span[0] >> 4)
        {
            case 3:
                return HandlePublish(packet);
            case 6 when _droppedQos2 is { Count: > 0 } dropped && span.Length >= 4:
                var released = (ushort)((span[2] << 8) | span[3]);
                if (dropped.Remove(released))
                {
                    // MQTTnet releases a QoS 2 message the client never saw: complete the exchange in the client's name.
                    _acknowledgeInbound([0x70, 0x02, span[2], span[3]]);
                    return false;
                }

                break;
        }

        if ((_noProblemInformation && ProblemInformation.AppliesTo(span[0])) || (_maxPacketSize > 0 && span.Length > _maxPacketSize))
        {
            // [MQTT-3.1.2-29] and the "MUST NOT send this property if it would increase the size beyond the Maximum Packet Size" rules.
            span = ProblemInformation.Strip(span) ?? span;
        }

        _inner.Write(span);
        return false;
    }

    private bool HandlePublish(ReadOnlyMemory<byte> packet)
    {
        if (!OutboundPublish.TryReadHeader(packet.Span, out var qos, out var packetId))
        {
            _inner.Write(packet.Span);
            return false;
        }

        byte[]? rewritten = null;
        if (packet.Length > 8 && OutboundPublish.ApplyExpiry(packet.Span, _clock.GetUtcNow().ToUnixTimeMilliseconds(), out rewritten) == ExpiryOutcome.Expired)
        {
            DroppedExpired.Inc();
            Drop(qos, packetId);
            return false;
        }

        var bytes = rewritten ?? packet;
        if (_maxPacketSize > 0 && bytes.Length > _maxPacketSize)
        {
            DroppedTooLarge.Inc();
            Drop(qos, packetId);
            return false;
        }

        if (qos > 0 && _inFlight is not null)
        {
            lock (_sync)
            {
                if (_held!.Count > 0 || _inFlight.Count >= _receiveMaximum)
                {
                    _held.Enqueue((packetId, rewritten ?? packet.ToArray()));
                    return true;
                }

                _inFlight.Add(packetId);
            }
        }

        _inner.Write(bytes.Span);
        return false;
    }

    private void Drop(int qos, ushort packetId)
    {
        byte high = (byte)(packetId >> 8), low = (byte)packetId;
        if (qos == 1)
        {
            _acknowledgeInbound([0x40, 0x02, high, low]);
        }
        else if (qos == 2)
        {
            (_droppedQos2 ??= []).Add(packetId);
            _acknowledgeInbound([0x50, 0x02, high, low]);
        }
    }

    private async Task ReleaseHeldAsync()
    {
        try
        {
            await _gate.WaitAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            var any = false;
            while (true)
            {
                byte[] packet;
                lock (_sync)
                {
                    if (_completed || _held!.Count == 0 || _inFlight!.Count >= _receiveMaximum)
                    {
                        if (_held!.Count < _heldLimit && _space is { } space)
                        {
                            _space = null;
                            space.TrySetResult();
                        }

                        break;
                    }

                    var (packetId, bytes) = _held.Dequeue();
                    _inFlight.Add(packetId);
                    packet = bytes;
                }

                _inner.Write(packet);
                any = true;
            }

            if (any)
            {
                await _inner.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException)
        {
            // The connection is closing; MQTTnet sends unacknowledged messages again on the session's next connection.
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Length of the whole packet at the start of <paramref name="data"/>, false if it is not all there.</summary>
    internal static bool TryFrame(ReadOnlySpan<byte> data, out int length)
    {
        length = 0;
        var remaining = 0;
        var multiplier = 1;
        for (var i = 1; i < 5 && i < data.Length; i++)
        {
            remaining += (data[i] & 0x7F) * multiplier;
            multiplier *= 128;
            if ((data[i] & 0x80) == 0)
            {
                length = i + 1 + remaining;
                return data.Length >= length;
            }
        }

        return false;
    }
}
