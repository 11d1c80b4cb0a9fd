using System.Buffers;
using System.IO.Pipelines;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Turns MQTTnet's "complete with an error" on a connection's output into a normal completion, so Kestrel sends what
/// is still buffered before closing. Without it, a DISCONNECT with a reason (e.g. SessionTakenOver) written just before
/// the server drops a client is lost whenever the socket is aborted before the flush.
/// Also carries the broker's own last word: a DISCONNECT set by the packet layer is written just before completing.
/// </summary>
internal sealed class GracefulCloseWriter(PipeWriter inner) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    private byte[]? _finalPacket;

    /// <summary>Bytes to send after everything else, when the output completes (the first one set wins).</summary>
    public void SetFinalPacket(byte[] packet) => Interlocked.CompareExchange(ref _finalPacket, packet, null);

    public override void Complete(Exception? exception = null)
    {
        WriteFinalPacket();
        inner.Complete();
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        WriteFinalPacket();
        return inner.CompleteAsync();
    }

    /// <summary>Sends the final packet now if the output is still open (MQTTnet ended without completing it).</summary>
    public async ValueTask FlushFinalPacketAsync()
    {
        if (Volatile.Read(ref _finalPacket) is not { Length: > 0 })
        {
            return;
        }

        WriteFinalPacket();
        try
        {
            await inner.FlushAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private void WriteFinalPacket()
    {
        // Exchange with a sentinel so it is written once even if MQTTnet and the handler both complete.
        var packet = Interlocked.Exchange(ref _finalPacket, []);
        if (packet is { Length: > 0 })
        {
            try
            {
                inner.Write(packet);
            }
            catch (InvalidOperationException)
            {
                // The output is already completed: the client is gone.
            }
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(source, cancellationToken);
}
