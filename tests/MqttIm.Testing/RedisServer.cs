using System.Diagnostics;
using Xunit;
using System.Net;
using System.Net.Sockets;

namespace MqttIm.Testing;

/// <summary>
/// A private <c>redis-server</c> for tests on a free loopback port with its own temp directory (append-only file on,
/// so a restart keeps the data unless the test flushes it). Stop/start/flush are there for the failure tests.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private string _directory = "";
    private Process? _process;

    public int Port { get; private set; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port},abortConnect=false,connectRetry=5,connectTimeout=2000,syncTimeout=5000";

    public async Task InitializeAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "mqttim-redis-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        Port = FreePort();
        await StartAsync();
    }

    /// <summary>Starts the server (again) on the same port and directory, waits until it says it is ready, and checks it answers PING.</summary>
    public async Task StartAsync()
    {
        var executable = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
        var info = new ProcessStartInfo(executable,
            $"--port {Port} --bind 127.0.0.1 --dir {_directory} --appendonly yes --appendfsync everysec --save \"\" --protected-mode yes --daemonize no")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = _process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server (apt-get install redis-server)");
        // redis-server logs this line once it listens (after loading its append-only file): an event, not a polling loop.
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                log.Enqueue(line);
                if (line.Contains("Ready to accept connections", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                log.Enqueue(line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(30))); // the deadline, not a sleep
        if (first != ready.Task || !await PingAsync())
        {
            throw new InvalidOperationException($"redis-server did not come up on port {Port}: {string.Join(" | ", log.TakeLast(10))}");
        }
    }

    /// <summary>SIGKILL, like a crash.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>FLUSHALL: Redis loses every key (the "Redis lost its data" case).</summary>
    public Task FlushAllAsync() => CommandAsync("FLUSHALL");

    public async Task DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            return (await CommandAsync("PING")).Contains("PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Sends one inline command and returns the first reply line.</summary>
    private async Task<string> CommandAsync(string command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(command + "\r\n"));
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
