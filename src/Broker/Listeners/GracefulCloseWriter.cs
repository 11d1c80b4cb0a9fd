using System.IO.Pipelines;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Turns MQTTnet's "complete with an error" on a connection's output into a normal completion, so Kestrel sends what
/// is still buffered before closing. Without it, a DISCONNECT with a reason (e.g. SessionTakenOver) written just before
/// the server drops a client is lost whenever the socket is aborted before the flush.
/// </summary>
internal sealed class GracefulCloseWriter(PipeWriter inner) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete();

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync();

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(source, cancellationToken);
}
