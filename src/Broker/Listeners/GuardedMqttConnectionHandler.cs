using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MqttIm.Broker.Hosting;
using MqttIm.ImExtensions.Diagnostics;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Every MQTT connection, TCP or WebSocket, passes here before MQTTnet reads it: the packet-size guard, and a
/// server-assigned id for MQTT 3.1.1 CONNECTs that come without one.
/// </summary>
internal sealed class GuardedMqttConnectionHandler(
    MqttConnectionHandler mqtt,
    IOptions<BrokerLimitsOptions> limits,
    ILogger<GuardedMqttConnectionHandler> logger) : ConnectionHandler
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan LingerTimeout = TimeSpan.FromSeconds(2);
    private readonly long _maxPacketBytes = limits.Value.MaxPacketBytes;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var transport = connection.Transport;
        PipeReader input = transport.Input;
        byte[]? rewrittenConnect;
        try
        {
            rewrittenConnect = await ReadConnectAsync(connection, input).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or OperationCanceledException or ConnectionResetException)
        {
            logger.LogInformation("Dropped connection from {Endpoint} before CONNECT: {Reason}", connection.RemoteEndPoint, ex.Message);
            connection.Abort();
            return;
        }

        if (rewrittenConnect is not null)
        {
            // Rare path (id-less 3.1.1 clients): feed MQTTnet the rewritten CONNECT, then the rest of the stream.
            var pipe = new Pipe();
            await pipe.Writer.WriteAsync(rewrittenConnect).ConfigureAwait(false);
            _ = PumpAsync(input, pipe.Writer);
            input = pipe.Reader;
        }

        var guarded = new MqttPacketSizeGuard(input, _maxPacketBytes, size =>
        {
            ImLog.PacketTooLarge(logger, connection.RemoteEndPoint?.ToString(), size == long.MaxValue ? -1 : size, _maxPacketBytes);
            connection.Abort(new ConnectionAbortedException("MQTT packet too large"));
        });
        connection.Transport = new GuardedDuplexPipe(guarded, new GracefulCloseWriter(transport.Output));
        try
        {
            await mqtt.OnConnectedAsync(connection).ConfigureAwait(false);
            await LingerAsync(input).ConfigureAwait(false);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After MQTTnet ends a connection, reads and discards until the client closes its side (it should, once it has our
    /// DISCONNECT) or a short timeout, so the socket is never closed with unread input (which would reset it).
    /// </summary>
    private static async Task LingerAsync(PipeReader input)
    {
        using var timeout = new CancellationTokenSource(LingerTimeout);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ConnectionResetException or IOException or InvalidOperationException)
        {
            // Timed out, reset, or the transport is already gone: nothing left to protect.
        }
    }

    /// <summary>Waits for the whole first packet (bounded in size and time); returns a rewritten CONNECT or null, consuming nothing otherwise.</summary>
    private async Task<byte[]?> ReadConnectAsync(ConnectionContext connection, PipeReader input)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        timeout.CancelAfter(ConnectTimeout);
        while (true)
        {
            var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (EmptyClientIdRewriter.TryReadAnnouncedLength(buffer, out var length))
            {
                if (length > _maxPacketBytes)
                {
                    // Leave it to the size guard, which refuses it with its usual log line.
                    input.AdvanceTo(buffer.Start);
                    return null;
                }

                if (buffer.Length >= length)
                {
                    var packet = buffer.Slice(0, length);
                    var rewritten = EmptyClientIdRewriter.TryRewrite(packet.IsSingleSegment ? packet.FirstSpan : packet.ToArray());
                    input.AdvanceTo(rewritten is null ? buffer.Start : packet.End);
                    return rewritten;
                }
            }

            if (result.IsCompleted)
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static async Task PumpAsync(PipeReader source, PipeWriter target)
    {
        try
        {
            await source.CopyToAsync(target).ConfigureAwait(false);
            await target.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await target.CompleteAsync(ex).ConfigureAwait(false);
        }
    }

    private sealed record GuardedDuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
