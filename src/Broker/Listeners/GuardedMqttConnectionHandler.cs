using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MqttIm.Broker.Hosting;
using MqttIm.ImExtensions.Diagnostics;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Every MQTT connection, TCP or WebSocket, passes here before MQTTnet reads it. Before CONNECT: a bounded number of
/// such connections, a small size limit and a short deadline for the CONNECT, which is checked against the spec (and
/// gets a server-assigned id for MQTT 3.1.1 clients that come without one). After it: the packet-size guard and the
/// per-packet checks of <see cref="ControlPacketValidator"/>, and the CONNACK announces the broker's real limits.
/// </summary>
internal sealed class GuardedMqttConnectionHandler(
    MqttConnectionHandler mqtt,
    IOptions<BrokerLimitsOptions> limits,
    PendingConnectionGate pending,
    MqttIm.ImExtensions.Sessions.SessionExpiryTracker sessionExpiry,
    MqttIm.ImExtensions.BrokerState.PersistentSessions persistentSessions,
    MqttIm.ImExtensions.Wills.WillDelayScheduler wills,
    MqttIm.ImExtensions.Delivery.RawPacketOutlets outlets,
    ILogger<GuardedMqttConnectionHandler> logger) : ConnectionHandler
{
    private static readonly TimeSpan LingerTimeout = TimeSpan.FromSeconds(2);
    private readonly BrokerLimitsOptions _limits = limits.Value;
    private readonly LogThrottle _pendingLog = new(TimeProvider.System, TimeSpan.FromSeconds(1));

    public override Task OnConnectedAsync(ConnectionContext connection)
    {
        var slot = pending.TryEnter();
        if (slot is null)
        {
            if (_pendingLog.TryEnter(out _))
            {
                ListenerLog.TooManyPending(logger, connection.RemoteEndPoint?.ToString(), pending.Pending);
            }

            connection.Abort(new ConnectionAbortedException("too many connections waiting for CONNACK"));
            return Task.CompletedTask;
        }

        return ServeAsync(connection, slot);
    }

    // One async frame stays alive for the whole (mostly idle) connection: it holds only what the end of the connection
    // needs. What the CONNECT phase needs lives in AcceptAsync's frame, which is gone once MQTTnet takes over.
    private async Task ServeAsync(ConnectionContext connection, PendingConnectionGate.Slot slot)
    {
        try
        {
            if (await AcceptAsync(connection, slot).ConfigureAwait(false) is not (var input, var closeWriter, var outletKey, var willConnection, var outlet))
            {
                return;
            }

            outlets.Register(outletKey, outlet);

            try
            {
                await mqtt.OnConnectedAsync(connection).ConfigureAwait(false);
                await closeWriter.FlushFinalPacketAsync().ConfigureAwait(false);
                await LingerAsync(input).ConfigureAwait(false);
            }
            finally
            {
                if (willConnection is not null)
                {
                    wills.ConnectionClosed(willConnection);
                }

                outlets.Unregister(outletKey, outlet);
                await input.CompleteAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            slot.Release();
        }
    }

    /// <summary>
    /// Reads and checks the CONNECT, then puts the guards between the transport and MQTTnet. Null when the connection
    /// was refused or dropped before CONNECT; otherwise the transport's real input, the writer of the final packet, the
    /// connection key (computed once: every per-connection map shares the one string) and, when the CONNECT had a will,
    /// that same key as the will scheduler knows it.
    /// </summary>
    private async Task<(PipeReader Input, GracefulCloseWriter CloseWriter, string ConnectionKey, string? WillConnection, SharedOutputWriter Outlet)?> AcceptAsync(ConnectionContext connection, PendingConnectionGate.Slot slot)
    {
        var transport = connection.Transport;
        PipeReader input = transport.Input;
        ConnectOutcome connect;
        try
        {
            connect = await ReadConnectAsync(connection, input).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or OperationCanceledException or ConnectionResetException or ConnectionAbortedException)
        {
            ListenerLog.DroppedBeforeConnect(logger, connection.RemoteEndPoint?.ToString(),
                ex is OperationCanceledException ? "no complete CONNECT within Limits:ConnectTimeout" : ex.Message);
            connection.Abort();
            return null;
        }

        if (connect.Refusal is { } refusal)
        {
            await RefuseAsync(connection, transport, refusal, connect.RefusalConnAck).ConfigureAwait(false);
            return null;
        }

        var connectionKey = ConnectionKeyOf(connection);
        string? willConnection = null;
        if (connect.Will is { } will)
        {
            // Wills are the scheduler's (MQTTnet never saw this one): Will Delay, DISCONNECT 0x04, takeover (issue 13 item 5).
            willConnection = connectionKey;
            wills.Connecting(willConnection, will, connect.Summary.ProtocolLevel >= 5 ? connect.Summary.SessionExpiryInterval : 0);
        }

        // Room frames are written below MQTTnet, between its packets (Delivery/IRawPacketOutlet).
        var outlet = new SharedOutputWriter(transport.Output, connect.Summary.ProtocolLevel >= 5 ? connect.Summary.MaximumPacketSize : 0);
        var closeWriter = new GracefulCloseWriter(outlet);
        var validator = new ControlPacketValidator(connect.Summary.ProtocolLevel, _limits.TopicAliasMaximum, _limits.MaxTopicAliasBytes);
        var guarded = new MqttPacketSizeGuard(input, _limits.MaxPacketBytes, size =>
        {
            ImLog.PacketTooLarge(logger, connection.RemoteEndPoint?.ToString(), size == long.MaxValue ? -1 : size, _limits.MaxPacketBytes);
            connection.Abort(new ConnectionAbortedException("MQTT packet too large"));
        },
        validator,
        violation =>
        {
            ListenerLog.ProtocolViolation(logger, connection.RemoteEndPoint?.ToString(), violation.ReasonCode, violation.Reason);
            if (validator.IsMqtt5)
            {
                closeWriter.SetFinalPacket(MqttRefusals.Disconnect(violation.ReasonCode, violation.Reason));
            }
        })
        {
            // A rewritten CONNECT (id-less 3.1.1 client, capped keep-alive, will taken out) is served in place of the
            // original, which the input has consumed; the client's own packets follow it unchanged.
            CheckFrom = connect.Rewritten is null ? connect.Length : 0,
            FirstPacket = connect.Rewritten,
        };

        PipeWriter flowOutput = closeWriter;
        if (validator.IsMqtt5)
        {
            // Session Expiry changed on DISCONNECT (issue 13 item 4): MQTTnet 5.2 does not apply it, the tracker does.
            validator.ConnectSessionExpiry = connect.Summary.SessionExpiryInterval;
            validator.SessionExpiryOnDisconnect = seconds =>
            {
                if (sessionExpiry.ChangedOnDisconnect(connectionKey, seconds) is { } clientId)
                {
                    persistentSessions.ExpiryChanged(clientId, seconds);
                }

                if (willConnection is not null)
                {
                    wills.SessionExpiryChanged(willConnection, seconds);
                }
            };

            var flow = new OutboundFlowWriter(closeWriter,
                new ClientFlowLimits(connect.Summary.ReceiveMaximum, connect.Summary.MaximumPacketSize, connect.Summary.NoProblemInformation),
                _limits.MaxPendingMessagesPerClient, guarded.Inject, TimeProvider.System);
            validator.OutboundFlow = flow;
            flowOutput = flow;
        }

        var announce = new ConnAckAnnouncements((ushort)_limits.TopicAliasMaximum, (uint)_limits.MaxPacketBytes, connect.ServerKeepAlive);
        var output = new ConnAckWriter(flowOutput,
            validator.IsMqtt5 ? bytes => ConnAckRewriter.Rewrite(bytes.Span, announce) ?? bytes : bytes => bytes,
            slot.Release);
        connection.Transport = new GuardedDuplexPipe(guarded, output);
        return (input, closeWriter, connectionKey, willConnection, outlet);
    }

    private async Task RefuseAsync(ConnectionContext connection, IDuplexPipe transport, ProtocolViolation refusal, byte[]? connAck)
    {
        ListenerLog.ConnectRefused(logger, connection.RemoteEndPoint?.ToString(), refusal.Reason);
        if (connAck is null)
        {
            connection.Abort();
            return;
        }

        // WebSocket: binary frames, as MQTTnet sets them for its own packets (text frames must be UTF-8; MQTT is not).
        if (connection.Features.Get<Microsoft.AspNetCore.Connections.Features.ITransferFormatFeature>() is { } format)
        {
            format.ActiveFormat = Microsoft.AspNetCore.Connections.TransferFormat.Binary;
        }

        try
        {
            await transport.Output.WriteAsync(connAck).ConfigureAwait(false);
            await transport.Output.CompleteAsync().ConfigureAwait(false);
            await LingerAsync(transport.Input).ConfigureAwait(false);
        }
        finally
        {
            await transport.Input.CompleteAsync().ConfigureAwait(false);
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

    /// <summary>
    /// Waits for the whole first packet, bounded by Limits:MaxConnectPacketBytes and Limits:ConnectTimeout, and checks
    /// it. Consumes nothing unless it returns a rewritten CONNECT (or a refusal).
    /// </summary>
    private async Task<ConnectOutcome> ReadConnectAsync(ConnectionContext connection, PipeReader input)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        timeout.CancelAfter(_limits.ConnectTimeout);
        while (true)
        {
            var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (EmptyClientIdRewriter.TryReadAnnouncedLength(buffer, out var length))
            {
                if (length > _limits.MaxConnectPacketBytes)
                {
                    input.AdvanceTo(buffer.Start);
                    throw new InvalidDataException($"CONNECT of {length} bytes is over Limits:MaxConnectPacketBytes ({_limits.MaxConnectPacketBytes})");
                }

                if (buffer.Length >= length)
                {
                    var packet = buffer.Slice(0, length);
                    var outcome = CheckConnect(packet.IsSingleSegment ? packet.FirstSpan : packet.ToArray(), (int)length);
                    input.AdvanceTo(outcome.Rewritten is null && outcome.Refusal is null ? buffer.Start : packet.End);
                    return outcome;
                }
            }

            if (result.IsCompleted)
            {
                // Never hand MQTTnet a partial packet on a completed input: it would spin on it (see MqttPacketSizeGuard).
                input.AdvanceTo(buffer.End);
                throw new InvalidDataException(buffer.IsEmpty ? "closed before sending CONNECT" : "closed in the middle of CONNECT");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private ConnectOutcome CheckConnect(ReadOnlySpan<byte> packet, int length)
    {
        if (ConnectPacketInspector.Inspect(packet, out var summary) is { } violation)
        {
            return ConnectOutcome.Refused(violation, summary.ProtocolLevel switch
            {
                5 => MqttRefusals.ConnAck(5, violation.ReasonCode, violation.Reason),
                3 or 4 when violation.ReasonCode == 0x85 => MqttRefusals.ConnAck(4, 0x02, violation.Reason),
                _ => null,
            });
        }

        byte[]? rewritten = null;
        if (summary.EmptyClientId && summary.ProtocolLevel is 3 or 4)
        {
            if (!summary.CleanSession)
            {
                // MQTT 3.1.1 §3.1.3-8: an empty id needs a clean session; otherwise CONNACK 0x02 (identifier rejected).
                var refusal = new ProtocolViolation(0x85, "empty client id without clean session");
                return ConnectOutcome.Refused(refusal, MqttRefusals.ConnAck(summary.ProtocolLevel, 0x02, refusal.Reason));
            }

            rewritten = EmptyClientIdRewriter.TryRewrite(packet);
        }

        ushort? serverKeepAlive = null;
        var maxKeepAlive = _limits.MaxKeepAliveSeconds;
        if (maxKeepAlive > 0 && (summary.KeepAliveSeconds == 0 || summary.KeepAliveSeconds > maxKeepAlive))
        {
            // Announced as Server Keep Alive (MQTT 5) and written into the CONNECT so MQTTnet enforces it.
            serverKeepAlive = (ushort)maxKeepAlive;
            rewritten = ConnectKeepAlive.WithKeepAlive(rewritten ?? packet, (ushort)maxKeepAlive);
        }

        MqttIm.ImExtensions.Wills.WillMessage? will = null;
        if (summary.HasWill && ConnectWill.TryExtract(rewritten ?? packet, out will) is { } withoutWill)
        {
            rewritten = withoutWill;
        }

        return new ConnectOutcome(summary, rewritten?.Length ?? length, rewritten, summary.ProtocolLevel >= 5 ? serverKeepAlive : null, null, null, will);
    }

    private sealed record ConnectOutcome(
        ConnectSummary Summary,
        int Length,
        byte[]? Rewritten,
        ushort? ServerKeepAlive,
        ProtocolViolation? Refusal,
        byte[]? RefusalConnAck,
        MqttIm.ImExtensions.Wills.WillMessage? Will = null)
    {
        public static ConnectOutcome Refused(ProtocolViolation violation, byte[]? connAck) =>
            new(default, 0, null, null, violation, connAck);
    }

    /// <summary>
    /// The key MQTTnet's hooks know this connection by (<see cref="MqttIm.ImExtensions.Sessions.ConnectionKeys"/>). A
    /// Kestrel socket carries its remote end point; a WebSocket connection has none of its own, and MQTTnet takes it
    /// from the HTTP request, so the same is done here (else every WebSocket connection would be "local").
    /// </summary>
    internal static string ConnectionKeyOf(ConnectionContext connection) =>
        MqttIm.ImExtensions.Sessions.ConnectionKeys.Of(connection.RemoteEndPoint
            ?? (connection.GetHttpContext()?.Connection is { RemoteIpAddress: { } ip } http ? new IPEndPoint(ip, http.RemotePort) : null));

    private sealed record GuardedDuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
