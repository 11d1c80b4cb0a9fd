using System.Buffers;
using System.IO.Pipelines;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Sits on a connection's output until MQTTnet has written its CONNACK: holds those bytes, lets
/// <see cref="ConnAckRewriter"/> announce the broker's limits (MQTT 5) and reports that the client is past CONNECT.
/// From then on every call goes straight through, and the rewrite and its callback are let go (they would otherwise
/// live as long as the mostly idle connection).
/// </summary>
internal sealed class ConnAckWriter(PipeWriter inner, Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>> rewrite, Action onConnAck) : PipeWriter
{
    private ArrayBufferWriter<byte>? _held = new(64);
    private Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>? _rewrite = rewrite;
    private Action? _onConnAck = onConnAck;

    public override bool CanGetUnflushedBytes => false;

    public override void Advance(int bytes)
    {
        if (_held is { } held)
        {
            held.Advance(bytes);
            return;
        }

        inner.Advance(bytes);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null)
    {
        ReleaseHeld(rewriteFirst: false);
        inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        ReleaseHeld(rewriteFirst: false);
        return inner.CompleteAsync(exception);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_held is { } held)
        {
            if (!EmptyClientIdRewriter.TryReadAnnouncedLength(new ReadOnlySequence<byte>(held.WrittenMemory), out var length)
                || held.WrittenCount < length)
            {
                return ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false));
            }

            ReleaseHeld(rewriteFirst: true);
        }

        return inner.FlushAsync(cancellationToken);
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => _held is { } held ? held.GetMemory(sizeHint) : inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _held is { } held ? held.GetSpan(sizeHint) : inner.GetSpan(sizeHint);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (_held is { } held)
        {
            held.Write(source.Span);
            return FlushAsync(cancellationToken);
        }

        return inner.WriteAsync(source, cancellationToken);
    }

    private void ReleaseHeld(bool rewriteFirst)
    {
        if (_held is not { } held)
        {
            return;
        }

        _held = null;
        var rewriteConnAck = _rewrite!;
        var connAckWritten = _onConnAck!;
        _rewrite = null;
        _onConnAck = null;
        var bytes = held.WrittenMemory;
        if (rewriteFirst && EmptyClientIdRewriter.TryReadAnnouncedLength(new ReadOnlySequence<byte>(bytes), out var length))
        {
            inner.Write(rewriteConnAck(bytes[..(int)length]).Span);
            bytes = bytes[(int)length..];
            connAckWritten();
        }

        if (!bytes.IsEmpty)
        {
            inner.Write(bytes.Span);
        }
    }
}
