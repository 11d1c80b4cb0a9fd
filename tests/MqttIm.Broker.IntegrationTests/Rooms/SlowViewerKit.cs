using System.Net.Sockets;
using System.Text;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

/// <summary>What the slow-viewer tests share: a viewer that reads every frame, and a raw viewer that stops reading.</summary>
internal static class SlowViewerKit
{
    /// <summary>Receives until <paramref name="expectedGifts"/> gifts are in; returns the latencies of every message and the gift seqs.</summary>
    public static async Task<(List<double> LatenciesMs, List<long> GiftSeqs)> ReceiveAsync(RoomViewerProbe viewer, Func<int> expectedGifts)
    {
        var latencies = new List<double>();
        var seqs = new List<long>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (seqs.Count < expectedGifts())
        {
            // Short waits: the last frame can arrive before the senders have their last PUBACKs (and so before the
            // expected gift count is known); then the loop ends on the next check, not on a frame that never comes.
            RoomFrame frame;
            try
            {
                frame = await viewer.NextFrameAsync(TimeSpan.FromSeconds(1));
            }
            catch (TimeoutException) when (DateTime.UtcNow < deadline)
            {
                continue;
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{viewer.Device.ClientId}: {seqs.Count} of {expectedGifts()} gifts (last seq {seqs.LastOrDefault()}), {latencies.Count} messages; connected {viewer.Device.Client.IsConnected}", ex);
            }

            var now = DateTime.UtcNow.Ticks;
            foreach (var message in frame.Messages)
            {
                latencies.Add(TimeSpan.FromTicks(now - long.Parse(message.ClientMsgId)).TotalMilliseconds);
                if (message.Kind == "gift")
                {
                    seqs.Add(message.Seq);
                }
            }
        }

        return (latencies, seqs);
    }

    /// <summary>Raw MQTT 3.1.1 over TCP: CONNECT, SUBSCRIBE room at <paramref name="qos"/>, read up to the SUBACK, then never read again.</summary>
    public static async Task<Socket> StalledViewerAsync(BrokerProcess broker, string roomId, byte qos)
    {
        var user = TestUsers.Unique("stalled");
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync("127.0.0.1", broker.MqttPort);
        var body = new List<byte>();
        body.AddRange(Utf8("MQTT"));
        body.AddRange([4, 0xC2, 0, 0]); // level 4, username + password + clean session, no keep-alive
        body.AddRange(Utf8(user + "-raw"));
        body.AddRange(Utf8(user));
        body.AddRange(Utf8(broker.Token(user)));
        await socket.SendAsync(Packet(0x10, body));
        Assert.Equal(0x20, (await ReadPacketAsync(socket)).Type); // CONNACK
        var subscribe = new List<byte> { 0, 1 };
        subscribe.AddRange(Utf8("room/" + roomId));
        subscribe.Add(qos);
        await socket.SendAsync(Packet(0x82, subscribe));
        for (var i = 0; i < 100; i++)
        {
            // MQTT allows frames of the room before the SUBACK.
            var (type, packetBody) = await ReadPacketAsync(socket);
            if (type == 0x90)
            {
                Assert.Equal(qos, packetBody[2]); // granted as asked
                return socket;
            }
        }

        throw new InvalidOperationException("no SUBACK");
    }

    private static byte[] Utf8(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        return [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];
    }

    private static byte[] Packet(byte type, List<byte> body)
    {
        var packet = new List<byte> { type };
        var length = body.Count;
        do
        {
            var digit = (byte)(length % 128);
            length /= 128;
            packet.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);
        packet.AddRange(body);
        return [.. packet];
    }

    private static async Task<(int Type, byte[] Body)> ReadPacketAsync(Socket socket)
    {
        var type = (await ReadExactlyAsync(socket, 1))[0] & 0xF0;
        int length = 0, shift = 0;
        byte digit;
        do
        {
            digit = (await ReadExactlyAsync(socket, 1))[0];
            length |= (digit & 0x7F) << shift;
            shift += 7;
        }
        while ((digit & 0x80) != 0 && shift < 28);
        return (type, length == 0 ? [] : await ReadExactlyAsync(socket, length));
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), cts.Token);
            if (n == 0)
            {
                throw new IOException("the broker closed the connection");
            }

            read += n;
        }

        return buffer;
    }
}
