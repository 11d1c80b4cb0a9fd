using System.Diagnostics;
using System.Net.Sockets;
using MQTTnet;
using MQTTnet.Formatter;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Two brokers: one with a short CONNECT deadline, one that allows only a few connections before CONNACK.</summary>
public sealed class ConnectLimitsFixture : IAsyncLifetime
{
    public const int MaxPending = 10;

    public BrokerProcess Short { get; private set; } = null!;

    public BrokerProcess FewPending { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Short = await BrokerProcess.StartAsync("--Limits:ConnectTimeout=00:00:02");
        FewPending = await BrokerProcess.StartAsync($"--Limits:MaxPendingConnections={MaxPending}", "--Limits:ConnectTimeout=00:02:00");
    }

    public async Task DisposeAsync()
    {
        await Short.DisposeAsync();
        await FewPending.DisposeAsync();
    }
}

/// <summary>
/// Issue 7, unauthenticated memory: the first packet used to be buffered up to Limits:MaxPacketBytes for 15 s by any
/// number of connections (200 partial 1 MiB CONNECTs: +198 MB). Now CONNECT has its own small limit and deadline,
/// and the connections still waiting for CONNACK are bounded.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class ConnectLimitsTests(ConnectLimitsFixture fixture) : IClassFixture<ConnectLimitsFixture>
{
    [Fact]
    public async Task TwoHundredPartialOneMiBConnects_DoNotGrowMemory_AndAreClosed()
    {
        var broker = fixture.Short;
        var before = broker.ResidentBytes();
        var sockets = new List<Socket>();
        try
        {
            var chunk = new byte[64 * 1024];
            for (var i = 0; i < 200; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync("127.0.0.1", broker.MqttPort);
                // CONNECT announcing 1 MiB (remaining length 0x80 0x80 0x40), then all but the last bytes of it.
                var sent = await TrySendAsync(socket, [0x10, 0x80, 0x80, 0x40, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04]);
                for (var total = 0; sent && total < 1024 * 1024 - 2 * chunk.Length; total += chunk.Length)
                {
                    sent = await TrySendAsync(socket, chunk);
                }
            }

            var grown = broker.ResidentBytes() - before;
            foreach (var socket in sockets)
            {
                Assert.True(await IsClosedByPeerAsync(socket, TimeSpan.FromSeconds(10)), "a partial 1 MiB CONNECT was kept open");
            }

            Assert.True(grown < 40L * 1024 * 1024, $"broker RSS grew by {grown / 1024 / 1024} MB for 200 partial CONNECTs");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        await using var device = await TestDevice.ConnectAsync(broker, "after-flood", subscribeInbox: false);
        Assert.True(device.Client.IsConnected);
    }

    [Theory]
    [InlineData(Transport.Tcp, false)]
    [InlineData(Transport.Tcp, true)]
    [InlineData(Transport.WebSocket, false)]
    [InlineData(Transport.WebSocket, true)]
    public async Task NoCompleteConnectWithinTheDeadline_Closed(Transport transport, bool partial)
    {
        await using var raw = await RawMqttClient.ConnectAsync(fixture.Short, transport);
        if (partial)
        {
            await raw.SendAsync([0x10, 0x30, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T']);
        }

        // Limits:ConnectTimeout is 2 s here; it used to be a fixed 15 s.
        var watch = Stopwatch.StartNew();
        Assert.True(await raw.IsClosedWithinAsync(TimeSpan.FromSeconds(10)), "the broker waited for the CONNECT past its deadline");
        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(1), $"closed after {watch.Elapsed}, before the deadline");
    }

    [Theory]
    [InlineData(Transport.Tcp)]
    [InlineData(Transport.WebSocket)]
    public async Task ConnectOverItsOwnLimit_Closed_WhileNormalClientsConnect(Transport transport)
    {
        // 20 KiB announced: below Limits:MaxPacketBytes (1 MiB) but above Limits:MaxConnectPacketBytes (16 KiB).
        await using var raw = await RawMqttClient.ConnectAsync(fixture.Short, transport);
        await raw.SendAsync([0x10, 0x80, 0xA0, 0x01, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x05]);
        Assert.True(await raw.IsClosedWithinAsync(TimeSpan.FromSeconds(1.5)), "an oversized CONNECT was kept open");

        foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
        {
            await using var device = await TestDevice.ConnectAsync(fixture.Short, "normal", version: version, transport: transport, subscribeInbox: false);
            Assert.True(device.Client.IsConnected);
        }
    }

    [Fact]
    public async Task PendingConnectionsOverTheLimit_RefusedAtTheDoor_AndAdmittedOnceTheyLeave()
    {
        var broker = fixture.FewPending;
        var idle = new List<RawMqttClient>();
        try
        {
            for (var i = 0; i < ConnectLimitsFixture.MaxPending; i++)
            {
                idle.Add(await RawMqttClient.ConnectAsync(broker, Transport.Tcp));
            }

            // The broker may not have seen all of them yet: a few tries, each bounded.
            var refused = false;
            for (var attempt = 0; attempt < 10 && !refused; attempt++)
            {
                await using var extra = await RawMqttClient.ConnectAsync(broker, Transport.Tcp);
                refused = await extra.IsClosedWithinAsync(TimeSpan.FromSeconds(1));
            }

            Assert.True(refused, $"connection beyond Limits:MaxPendingConnections={ConnectLimitsFixture.MaxPending} was admitted");
            await Assert.ThrowsAnyAsync<Exception>(() => TestDevice.ConnectAsync(broker, "blocked", subscribeInbox: false));
        }
        finally
        {
            foreach (var raw in idle)
            {
                await raw.DisposeAsync();
            }
        }

        // Their slots come back as the broker notices them gone.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var device = await TestDevice.ConnectAsync(broker, "admitted", subscribeInbox: false);
                Assert.True(device.Client.IsConnected);
                return;
            }
            catch (Exception) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
            {
            }
        }
    }

    private static async Task<bool> TrySendAsync(Socket socket, byte[] bytes)
    {
        try
        {
            await socket.SendAsync(bytes).WaitAsync(TimeSpan.FromSeconds(5));
            return true;
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            return false;
        }
    }

    private static async Task<bool> IsClosedByPeerAsync(Socket socket, TimeSpan within)
    {
        var buffer = new byte[256];
        using var cts = new CancellationTokenSource(within);
        try
        {
            while (await socket.ReceiveAsync(buffer, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
