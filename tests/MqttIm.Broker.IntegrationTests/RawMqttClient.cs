using System.Net.Sockets;
using System.Net.WebSockets;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// A byte-level MQTT peer over TCP or WebSocket, for packets no well-behaved client library would send: partial
/// packets, half-closed connections, malformed fields. Every wait is bounded.
/// </summary>
internal sealed class RawMqttClient : IAsyncDisposable
{
    private readonly Socket? _socket;
    private readonly ClientWebSocket? _webSocket;
    private readonly List<byte> _inbox = [];

    private RawMqttClient(Socket? socket, ClientWebSocket? webSocket)
    {
        _socket = socket;
        _webSocket = webSocket;
    }

    public static async Task<RawMqttClient> ConnectAsync(BrokerProcess broker, Transport transport)
    {
        if (transport == Transport.Tcp)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", broker.MqttPort);
            return new RawMqttClient(socket, null);
        }

        var webSocket = new ClientWebSocket();
        webSocket.Options.AddSubProtocol("mqtt");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // generous: a WebSocket upgrade took over 10 s at load average 40
        await webSocket.ConnectAsync(new Uri($"ws://127.0.0.1:{broker.HttpPort}/mqtt"), cts.Token);
        return new RawMqttClient(null, webSocket);
    }

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        if (_socket is not null)
        {
            await _socket.SendAsync(bytes, SocketFlags.None, cts.Token);
        }
        else
        {
            await _webSocket!.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
        }
    }

    /// <summary>Closes our sending side only (TCP FIN / WebSocket close frame); we can still read.</summary>
    public async Task HalfCloseAsync()
    {
        if (_socket is not null)
        {
            _socket.Shutdown(SocketShutdown.Send);
            return;
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _webSocket!.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "half-open", cts.Token);
    }

    /// <summary>Sends a CONNECT and returns the CONNACK (or throws when the broker closes first).</summary>
    public async Task<byte[]> ConnectMqttAsync(byte[] connect)
    {
        await SendAsync(connect);
        return await ReceivePacketAsync(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException("closed instead of CONNACK");
    }

    /// <summary>The next whole packet from the broker, or null when it closes the connection first (or on timeout: throws).</summary>
    public async Task<byte[]?> ReceivePacketAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        while (true)
        {
            if (TryTakePacket(out var packet))
            {
                return packet;
            }

            if (!await ReadMoreAsync(cts.Token))
            {
                return null;
            }
        }
    }

    /// <summary>Every packet until the broker closes the connection; throws if it does not close within <paramref name="within"/>.</summary>
    public async Task<List<byte[]>> ReceiveUntilClosedAsync(TimeSpan within)
    {
        var packets = new List<byte[]>();
        using var cts = new CancellationTokenSource(within);
        while (true)
        {
            while (TryTakePacket(out var packet))
            {
                packets.Add(packet);
            }

            if (!await ReadMoreAsync(cts.Token))
            {
                return packets;
            }
        }
    }

    /// <summary>True when the broker closes (or resets) the connection within <paramref name="within"/>.</summary>
    public async Task<bool> IsClosedWithinAsync(TimeSpan within)
    {
        try
        {
            await ReceiveUntilClosedAsync(within);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> ReadMoreAsync(CancellationToken token)
    {
        var buffer = new byte[4096];
        try
        {
            if (_socket is not null)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, token);
                if (read == 0)
                {
                    return false;
                }

                _inbox.AddRange(buffer.AsSpan(0, read));
                return true;
            }

            var result = await _webSocket!.ReceiveAsync(buffer, token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return false;
            }

            _inbox.AddRange(buffer.AsSpan(0, result.Count));
            return true;
        }
        catch (Exception ex) when (ex is SocketException or WebSocketException)
        {
            return false;
        }
    }

    private bool TryTakePacket(out byte[] packet)
    {
        packet = [];
        if (_inbox.Count < 2)
        {
            return false;
        }

        var remaining = 0;
        var multiplier = 1;
        var i = 1;
        while (true)
        {
            if (i >= _inbox.Count)
            {
                return false;
            }

            var b = _inbox[i++];
            remaining += (b & 0x7F) * multiplier;
            multiplier *= 128;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        if (_inbox.Count < i + remaining)
        {
            return false;
        }

        packet = _inbox.GetRange(0, i + remaining).ToArray();
        _inbox.RemoveRange(0, i + remaining);
        return true;
    }

    public ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        _webSocket?.Abort();
        _webSocket?.Dispose();
        return ValueTask.CompletedTask;
    }
}
