using System.Net.Sockets;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>The packet-size guard: oversized packets are refused before anything buffers them.</summary>
public sealed class GuardTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task ConnectClaiming200MB_ConnectionClosed_MemoryDoesNotJump()
    {
        var before = _broker.ResidentBytes();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", _broker.MqttPort);

        // CONNECT with remaining length 200,000,000 (varint 0x80 0x84 0xAF 0x5F), then keep streaming junk.
        await socket.SendAsync(new byte[] { 0x10, 0x80, 0x84, 0xAF, 0x5F, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T' });
        var junk = new byte[64 * 1024];
        var sent = 0L;
        var closed = false;
        try
        {
            while (sent < 64L * 1024 * 1024)
            {
                sent += await socket.SendAsync(junk).WaitAsync(TimeSpan.FromSeconds(5));
            }
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            closed = true;
        }

        // Everything may have fit into kernel buffers; the broker must still have hung up.
        closed = closed || await IsClosedByPeerAsync(socket);

        Assert.True(closed, "the broker kept reading an oversized packet");
        Assert.True(sent < 64L * 1024 * 1024, $"the broker accepted {sent} bytes of a packet over the limit");
        var grown = _broker.ResidentBytes() - before;
        Assert.True(grown < 48L * 1024 * 1024, $"broker RSS grew by {grown / 1024 / 1024} MB");
    }

    [Fact]
    public async Task PublishOverMaxPacket_DisconnectsOnlyThatClient()
    {
        await using var big = await TestDevice.ConnectAsync(_broker, "bigsender", subscribeInbox: false);
        await using var other = await TestDevice.ConnectAsync(_broker, "bystander", subscribeInbox: false);
        await other.Client.SubscribeAsync("plain/ok", MqttQualityOfServiceLevel.AtLeastOnce);

        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        big.Client.DisconnectedAsync += _ =>
        {
            disconnected.TrySetResult();
            return Task.CompletedTask;
        };
        try
        {
            await big.PublishAsync("plain/big", new byte[2 * 1024 * 1024]);
        }
        catch (Exception)
        {
            // The connection is cut while the client waits for its PUBACK.
        }

        await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await other.PublishAsync("plain/ok", [42]);
        Assert.Equal("plain/ok", (await other.NextAsync()).Topic);
    }

    [Fact]
    public async Task MalformedRemainingLength_ConnectionClosed()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", _broker.MqttPort);

        await socket.SendAsync(new byte[] { 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F });

        Assert.True(await IsClosedByPeerAsync(socket));
    }

    /// <summary>True when the peer closes or resets the connection within 5 s.</summary>
    private static async Task<bool> IsClosedByPeerAsync(Socket socket)
    {
        var buffer = new byte[16];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
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
