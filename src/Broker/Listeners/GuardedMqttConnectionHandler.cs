using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MqttIm.Broker.Hosting;
using MqttIm.ImExtensions.Diagnostics;

namespace MqttIm.Broker.Listeners;

/// <summary>Every MQTT connection, TCP or WebSocket, passes the packet-size guard before MQTTnet reads it.</summary>
internal sealed class GuardedMqttConnectionHandler(
    MqttConnectionHandler mqtt,
    IOptions<BrokerLimitsOptions> limits,
    ILogger<GuardedMqttConnectionHandler> logger) : ConnectionHandler
{
    private readonly long _maxPacketBytes = limits.Value.MaxPacketBytes;

    public override Task OnConnectedAsync(ConnectionContext connection)
    {
        var transport = connection.Transport;
        var guarded = new MqttPacketSizeGuard(transport.Input, _maxPacketBytes, size =>
        {
            ImLog.PacketTooLarge(logger, connection.RemoteEndPoint?.ToString(), size == long.MaxValue ? -1 : size, _maxPacketBytes);
            connection.Abort(new ConnectionAbortedException("MQTT packet too large"));
        });
        connection.Transport = new GuardedDuplexPipe(guarded, transport.Output);
        return mqtt.OnConnectedAsync(connection);
    }

    private sealed record GuardedDuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
