using System.Buffers;
using System.IO.Pipelines;
using MqttIm.ImExtensions.Delivery;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// The bottom of a connection's output, shared by MQTTnet and the room frame pump (<see cref="IRawPacketOutlet"/>).
/// MQTTnet's bytes collect here until its flush and then go to the transport as whole packets; the pump writes its
/// pre-encoded PUBLISHes in between. One gate orders the two writers, so no packet is ever split by another, and the
/// transport sees one writer at a time (a <see cref="PipeWriter"/> is single-writer). The pump never waits: when MQTTnet
/// holds the gate, or an earlier flush has not finished (the client is not reading), it is told Busy and keeps the packet.
/// </summary>
internal sealed class SharedOutputWriter(PipeWriter inner, long maximumPacketSize) : PipeWriter, IRawPacketOutlet
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    // What MQTTnet wrote since its last flush (only MQTTnet's side touches it: MQTTnet writes one packet at a time).
    private readonly PooledPacketBuffer _pending = new();
    private volatile bool _closed;

    public long MaximumPacketSize { get; } = maximumPacketSize;

    public RawWriteResult TryWrite(ReadOnlySpan<byte> packet)
    {
        if (_closed)
        {
            return RawWriteResult.Closed;
        }

        if (!_gate.Wait(0))
        {
            return RawWriteResult.Busy;
        }

        var release = true;
        try
        {
            if (_closed)
            {
                return RawWriteResult.Closed;
            }

            inner.Write(packet);
            var flush = inner.FlushAsync();
            if (flush.IsCompletedSuccessfully)
            {
                _closed |= flush.Result.IsCompleted;
            }
            else
            {
                // The transport is backed up: the gate stays taken until the flush is done, so the next frame is Busy.
                release = false;
                _ = ReleaseAfterAsync(flush);
            }

            return RawWriteResult.Written;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or ObjectDisposedException)
        {
            _closed = true;
            return RawWriteResult.Closed;
        }
        finally
        {
            if (release)
            {
                _gate.Release();
            }
        }
    }

    public override bool CanGetUnflushedBytes => false;

    public override void Advance(int bytes) => _pending.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        _pending.Write(source.Span);
        return FlushAsync(cancellationToken);
    }

    public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_pending.WrittenCount > 0)
            {
                // Whole packets only: a packet still being written stays here until MQTTnet's next flush. Once all is
                // out, the buffer goes back to the pool, so an idle connection keeps none.
                var data = _pending.WrittenSpan;
                var whole = 0;
                while (OutboundFlowWriter.TryFrame(data[whole..], out var length))
                {
                    whole += length;
                }

                inner.Write(data[..whole]);
                _pending.DropFirst(whole);
            }

            return await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public override void Complete(Exception? exception = null)
    {
        Finish();
        inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        Finish();
        return inner.CompleteAsync(exception);
    }

    private void Finish()
    {
        _closed = true;
        var entered = _gate.Wait(0);
        if (!entered)
        {
            // A flush the client never drains (a stalled viewer) would hold the gate: end it so the close goes ahead.
            inner.CancelPendingFlush();
            entered = _gate.Wait(TimeSpan.FromSeconds(2));
        }

        try
        {
            if (_pending.WrittenCount > 0)
            {
                try
                {
                    inner.Write(_pending.WrittenSpan);
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

    private async Task ReleaseAfterAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            _closed |= (await flush.ConfigureAwait(false)).IsCompleted;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            _closed = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
