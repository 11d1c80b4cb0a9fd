using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MqttIm.Contracts.V1;

namespace MqttIm.Bench;

/// <summary>The measured window the viewers count in, and where sampled viewers record latency (replaced per offered rate).</summary>
internal sealed class ViewerWindow(long from, long to, LatencyHistogram histogram)
{
    public LatencyHistogram Histogram { get; } = histogram;

    public bool Contains(long now) => now >= from && now < to;
}

/// <summary>
/// One room viewer of the room scenario as a raw MQTT 5 TCP client: CONNECT, SUBSCRIBE, then it only reads and counts
/// PUBLISH packets — fixed header and remaining length, and for MqttIm frames the number of messages in the
/// <c>RoomFrame</c> (its repeated field 2, found by walking the frame's top-level protobuf fields without decoding them).
/// QoS 1 deliveries are PUBACKed. Only sampled viewers decode a payload's send timestamp for latency. So the load generator
/// spends a few µs per received packet, not an MQTTnet client's decode and event per message: at 10,000 viewers the
/// brokers, not the viewers, set the pace. Each viewer's counters are written by its own read loop only.
/// </summary>
internal sealed class RawRoomViewer : IAsyncDisposable
{
    private const int MaxPacketBytes = 4 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly bool _frames;
    private readonly bool _sampled;
    private readonly Func<ViewerWindow?> _window;
    private byte[] _buffer = new byte[8 * 1024];
    private int _start;
    private int _end;
    private Task _loop = Task.CompletedTask;
    private int _lastFlags;

    private RawRoomViewer(Socket socket, bool frames, bool sampled, Func<ViewerWindow?> window)
    {
        _socket = socket;
        _frames = frames;
        _sampled = sampled;
        _window = window;
    }

    /// <summary>PUBLISH packets and room messages read since connecting.</summary>
    public long Packets { get; private set; }

    public long Messages { get; private set; }

    /// <summary>The same, counted only while a measured window was open (windows never overlap: diff between windows).</summary>
    public long WindowPackets { get; private set; }

    public long WindowMessages { get; private set; }

    /// <summary>Why the read loop ended before disposal (broker DISCONNECT reason, close, error), or null while it runs.</summary>
    public string? Ended { get; private set; }

    /// <summary>Connects, subscribes to <paramref name="topic"/> at QoS 0 and starts the read loop; throws with the broker's reason on refusal.</summary>
    public static async Task<RawRoomViewer> ConnectAsync(
        int port, string clientId, string? userName, string? password, string topic, bool protobufFrames, bool sampled,
        Func<ViewerWindow?> window, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var viewer = new RawRoomViewer(socket, protobufFrames, sampled, window);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct).ConfigureAwait(false);
            await socket.SendAsync(ConnectPacket(clientId, userName, password, protobufFrames), SocketFlags.None, ct).ConfigureAwait(false);
            var (type, body) = await viewer.ReadHandshakePacketAsync(ct).ConfigureAwait(false);
            // CONNACK v5: flags, reason code, properties.
            if (type != 2 || body.Length < 2 || body[1] != 0)
            {
                throw new InvalidOperationException($"CONNECT of {clientId} refused: packet type {type}, reason 0x{(body.Length > 1 ? body[1] : 0xFF):X2}");
            }

            await socket.SendAsync(SubscribePacket(topic), SocketFlags.None, ct).ConfigureAwait(false);
            // The room may deliver its next frame before MQTTnet has sent the SUBACK: such PUBLISHes are counted as usual.
            for (var early = 0; early < 1000; early++)
            {
                (type, body) = await viewer.ReadHandshakePacketAsync(ct).ConfigureAwait(false);
                if (type != 3)
                {
                    break;
                }

                viewer.OnPublish(viewer._lastFlags, body, Stopwatch.GetTimestamp());
            }

            // SUBACK v5: packet id, properties, one reason code per filter (< 0x80 = granted).
            var reason = type == 9 && body.Length >= 3 ? SubackReason(body) : 0xFF;
            if (reason >= 0x80)
            {
                throw new InvalidOperationException($"SUBSCRIBE of {clientId} to {topic} refused: packet type {type}, reason 0x{reason:X2}");
            }

            viewer._loop = Task.Run(viewer.ReadLoopAsync, CancellationToken.None);
            return viewer;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // DISCONNECT, normal (best effort; the broker may have gone already).
            _socket.Send([0xE0, 0x00], SocketFlags.None);
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
        await _loop.ConfigureAwait(false);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (Ended is null)
            {
                EnsureRoom();
                var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    Ended ??= "closed by the broker";
                    return;
                }

                _end += read;
                Consume(Stopwatch.GetTimestamp());
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidDataException or IndexOutOfRangeException or ArgumentOutOfRangeException or Google.Protobuf.InvalidProtocolBufferException)
        {
            Ended ??= ex.GetType().Name + ": " + ex.Message;
        }
    }

    /// <summary>Handles every complete packet in the buffer; a partial one stays for the next read.</summary>
    private void Consume(long now)
    {
        while (TryFrame(out var type, out var flags, out var bodyStart, out var bodyLength))
        {
            var body = _buffer.AsSpan(bodyStart, bodyLength);
            _start = bodyStart + bodyLength;
            switch (type)
            {
                case 3:
                    OnPublish(flags, body, now);
                    break;
                case 14:
                    Ended = Fmt.Inv($"DISCONNECT from the broker, reason 0x{(body.Length > 0 ? body[0] : 0):X2}");
                    return;
            }
        }
    }

    private void OnPublish(int flags, ReadOnlySpan<byte> body, long now)
    {
        var qos = (flags >> 1) & 3;
        var pos = 2 + BinaryPrimitives.ReadUInt16BigEndian(body);
        if (qos > 0)
        {
            var packetId = body.Slice(pos, 2);
            _socket.Send([0x40, 0x02, packetId[0], packetId[1]], SocketFlags.None);
            pos += 2;
        }

        var propertiesLength = ReadVarint(body, ref pos);
        var payload = body[(pos + propertiesLength)..];
        var count = _frames ? CountFrameMessages(payload) : 1;
        Packets++;
        Messages += count;
        if (_window() is not { } window || !window.Contains(now))
        {
            return;
        }

        WindowPackets++;
        WindowMessages += count;
        if (!_sampled)
        {
            return;
        }

        if (!_frames)
        {
            if (payload.Length >= 8)
            {
                window.Histogram.RecordTicks(now - BinaryPrimitives.ReadInt64LittleEndian(payload));
            }

            return;
        }

        foreach (var message in RoomFrame.Parser.ParseFrom(payload).Messages)
        {
            if (long.TryParse(message.ClientMsgId, NumberStyles.Integer, CultureInfo.InvariantCulture, out var sentAt))
            {
                window.Histogram.RecordTicks(now - sentAt);
            }
        }
    }

    /// <summary>Messages in a protobuf <c>RoomFrame</c>: occurrences of field 2 (length-delimited) among its top-level fields.</summary>
    internal static int CountFrameMessages(ReadOnlySpan<byte> frame)
    {
        var count = 0;
        var pos = 0;
        while (pos < frame.Length)
        {
            var tag = ReadVarint64(frame, ref pos);
            switch (tag & 7)
            {
                case 0:
                    ReadVarint64(frame, ref pos);
                    break;
                case 1:
                    pos += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint64(frame, ref pos);
                    pos += length;
                    if (tag >> 3 == 2)
                    {
                        count++;
                    }

                    break;
                case 5:
                    pos += 4;
                    break;
                default:
                    throw new InvalidDataException($"RoomFrame: wire type {tag & 7} at byte {pos}");
            }
        }

        return count;
    }

    private bool TryFrame(out int type, out int flags, out int bodyStart, out int bodyLength)
    {
        type = flags = bodyStart = bodyLength = 0;
        var available = _end - _start;
        if (available < 2)
        {
            return false;
        }

        var span = _buffer.AsSpan(_start, available);
        var length = 0;
        var i = 1;
        for (var shift = 0; ; shift += 7, i++)
        {
            if (i >= span.Length)
            {
                return false;
            }

            if (i > 4)
            {
                throw new InvalidDataException("malformed remaining length");
            }

            length |= (span[i] & 0x7F) << shift;
            if ((span[i] & 0x80) == 0)
            {
                break;
            }
        }

        if (length > MaxPacketBytes)
        {
            throw new InvalidDataException(Fmt.Inv($"packet of {length} bytes"));
        }

        if (available < i + 1 + length)
        {
            return false;
        }

        type = span[0] >> 4;
        flags = span[0] & 0x0F;
        bodyStart = _start + i + 1;
        bodyLength = length;
        return true;
    }

    /// <summary>Moves a partial packet to the front and grows the buffer when a packet does not fit.</summary>
    private void EnsureRoom()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
    }

    private async Task<(int Type, byte[] Body)> ReadHandshakePacketAsync(CancellationToken ct)
    {
        for (var reads = 0; reads < 1000; reads++)
        {
            if (TryFrame(out var type, out _lastFlags, out var bodyStart, out var bodyLength))
            {
                var body = _buffer.AsSpan(bodyStart, bodyLength).ToArray();
                _start = bodyStart + bodyLength;
                return (type, body);
            }

            EnsureRoom();
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct).ConfigureAwait(false);
            if (read == 0)
            {
                throw new InvalidOperationException("the broker closed the connection during CONNECT/SUBSCRIBE");
            }

            _end += read;
        }

        throw new InvalidOperationException("no CONNACK/SUBACK after 1000 reads");
    }

    private static int SubackReason(byte[] body)
    {
        var pos = 2;
        var propertiesLength = ReadVarint(body, ref pos);
        pos += propertiesLength;
        return pos < body.Length ? body[pos] : 0xFF;
    }

    private static byte[] ConnectPacket(string clientId, string? userName, string? password, bool protobufFrames)
    {
        var variable = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 5 };
        // Clean start; keep-alive 0 (none: the viewers only read, and a run is bounded anyway).
        variable.Add((byte)(0x02 | (userName is null ? 0 : 0x80) | (password is null ? 0 : 0x40)));
        variable.AddRange([0, 0]);
        var properties = new List<byte>();
        if (protobufFrames)
        {
            // User property format=protobuf: MqttIm sends this device protobuf frames (docs/PROTOCOL.md#connecting).
            properties.Add(0x26);
            AddString(properties, "format");
            AddString(properties, "protobuf");
        }

        AddVarint(variable, properties.Count);
        variable.AddRange(properties);
        AddString(variable, clientId);
        if (userName is not null)
        {
            AddString(variable, userName);
        }

        if (password is not null)
        {
            AddString(variable, password);
        }

        return Packet(0x10, variable);
    }

    private static byte[] SubscribePacket(string topic)
    {
        var body = new List<byte> { 0, 1, 0 };
        AddString(body, topic);
        body.Add(0); // QoS 0, no options.
        return Packet(0x82, body);
    }

    private static byte[] Packet(byte header, List<byte> body)
    {
        var packet = new List<byte>(body.Count + 5) { header };
        AddVarint(packet, body.Count);
        packet.AddRange(body);
        return [.. packet];
    }

    private static void AddString(List<byte> to, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        to.Add((byte)(bytes.Length >> 8));
        to.Add((byte)bytes.Length);
        to.AddRange(bytes);
    }

    private static void AddVarint(List<byte> to, int value)
    {
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            to.Add(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);
    }

    private static int ReadVarint(ReadOnlySpan<byte> span, ref int pos) => checked((int)ReadVarint64(span, ref pos));

    private static ulong ReadVarint64(ReadOnlySpan<byte> span, ref int pos)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = span[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("malformed varint");
    }
}
