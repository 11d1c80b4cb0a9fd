using System.Net;
using System.Net.Sockets;

namespace MqttIm.Testing;

/// <summary>
/// A loopback TCP proxy in front of the broker that cuts its connections mid-stream: after a seeded random number of
/// client→broker bytes it closes both sides of the connection carrying them, at most <see cref="MaxCuts"/> times, then
/// passes everything through. A cut can fall anywhere, inside a packet, between a PUBLISH and its PUBACK, in a CONNECT.
/// </summary>
public sealed class CuttingTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly Random _random;
    private readonly int _minBytesBetweenCuts;
    private readonly int _maxBytesBetweenCuts;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<Task> _pumps = [];
    private long _bytesUntilCut;
    private int _cuts;
    private bool _armed;
    private Task? _accepting;

    /// <param name="target">The broker's MQTT end point.</param>
    /// <param name="seed">Seeds where the cuts fall, so a failing run can be repeated.</param>
    /// <param name="maxCuts">How many connections are cut in all.</param>
    /// <param name="minBytesBetweenCuts">Fewest client→broker bytes between two cuts.</param>
    /// <param name="maxBytesBetweenCuts">Most client→broker bytes between two cuts.</param>
    public CuttingTcpProxy(IPEndPoint target, int seed, int maxCuts, int minBytesBetweenCuts, int maxBytesBetweenCuts)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCuts);
        ArgumentOutOfRangeException.ThrowIfLessThan(minBytesBetweenCuts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytesBetweenCuts, minBytesBetweenCuts);
        _target = target;
        _random = new Random(seed);
        MaxCuts = maxCuts;
        _minBytesBetweenCuts = minBytesBetweenCuts;
        _maxBytesBetweenCuts = maxBytesBetweenCuts;
        _bytesUntilCut = NextGap();
    }

    public int MaxCuts { get; }

    /// <summary>How many connections were cut so far.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>How many client connections the proxy accepted so far.</summary>
    public int Connections { get; private set; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Starts counting towards cuts (until then everything passes, e.g. a client's first connect).</summary>
    public void Arm()
    {
        lock (_lock)
        {
            _armed = true;
        }
    }

    public static CuttingTcpProxy Start(int targetPort, int seed, int maxCuts, int minBytesBetweenCuts = 200, int maxBytesBetweenCuts = 4000)
    {
        var proxy = new CuttingTcpProxy(new IPEndPoint(IPAddress.Loopback, targetPort), seed, maxCuts, minBytesBetweenCuts, maxBytesBetweenCuts);
        proxy._listener.Start();
        proxy._accepting = proxy.AcceptLoopAsync();
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Task[] pumps;
        lock (_lock)
        {
            pumps = [.. _pumps];
        }

        try
        {
            await Task.WhenAll([.. pumps, _accepting ?? Task.CompletedTask]).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException)
        {
            // Stopping: the pumps end with their sockets.
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_lock)
            {
                Connections++;
                _pumps.RemoveAll(p => p.IsCompleted);
                _pumps.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(_target, connection.Token);
            var toBroker = PumpAsync(client, upstream, countsTowardsCut: true, connection);
            var toClient = PumpAsync(upstream, client, countsTowardsCut: false, connection);
            await Task.WhenAny(toBroker, toClient);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            // Either side gone (or cut): drop both, as a broken network would.
            await connection.CancelAsync();
            client.Close(0);
            upstream.Close(0);
            client.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool countsTowardsCut, CancellationTokenSource connection)
    {
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, connection.Token);
                if (read == 0)
                {
                    return;
                }

                var forward = read;
                var cut = false;
                if (countsTowardsCut)
                {
                    (forward, cut) = TakeBytes(read);
                }

                if (forward > 0)
                {
                    await to.SendAsync(buffer.AsMemory(0, forward), SocketFlags.None, connection.Token);
                }

                if (cut)
                {
                    // The rest of this read never reaches the broker: the connection dies here, mid-stream.
                    await connection.CancelAsync();
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>How much of a read to forward, and whether the connection is cut after it.</summary>
    private (int Forward, bool Cut) TakeBytes(int read)
    {
        lock (_lock)
        {
            if (!_armed || _cuts >= MaxCuts)
            {
                return (read, false);
            }

            if (read < _bytesUntilCut)
            {
                _bytesUntilCut -= read;
                return (read, false);
            }

            var forward = (int)_bytesUntilCut;
            _cuts++;
            _bytesUntilCut = NextGap();
            return (forward, true);
        }
    }

    private long NextGap() => _random.Next(_minBytesBetweenCuts, _maxBytesBetweenCuts + 1);
}
