using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.ImExtensions.Auth;
using MQTTnet;

namespace MqttIm.Bench;

public enum BrokerKind
{
    MqttIm,
    Mosquitto,

    /// <summary>MQTTnet 5's server with default options and no hooks, started by this bench (the floor MqttIm builds on).</summary>
    BareMqttnet,
}

/// <summary>A broker under test running as its own process on 127.0.0.1.</summary>
public abstract class BrokerUnderTest : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    protected Process? Process { get; set; }

    public abstract BrokerKind Kind { get; }

    public string Name => NameOf(Kind);

    public static string NameOf(BrokerKind kind) => kind == BrokerKind.BareMqttnet ? "bare MQTTnet" : kind.ToString();

    public int MqttPort { get; protected set; }

    public int Pid { get; protected set; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public double CpuSeconds() => ProcInfo.CpuSeconds(Pid);

    public long ResidentBytes() => ProcInfo.ResidentBytes(Pid);

    /// <summary>Options for one client of this broker: MqttIm needs user id + token, Mosquitto is anonymous.</summary>
    public abstract MqttClientOptionsBuilder ClientOptions(string userId, string clientId);

    private bool _disposed;

    public virtual async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (Process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        Process?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Waits (bounded) for the ready line; a broker that is not ready in time is killed, not left running.</summary>
    protected static async Task<T> ReadyOrKillAsync<T>(BrokerUnderTest broker, Task<T> ready)
    {
        try
        {
            return await ready.WaitAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        }
        catch
        {
            await broker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    protected static MqttClientOptionsBuilder BaseOptions(int port, string clientId) => new MqttClientOptionsBuilder()
        .WithTcpServer("127.0.0.1", port)
        .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
        .WithClientId(clientId)
        .WithCleanSession()
        .WithKeepAlivePeriod(TimeSpan.FromSeconds(60))
        .WithTimeout(TimeSpan.FromSeconds(60));

    protected Process StartProcess(ProcessStartInfo startInfo, Action<string> onLine)
    {
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.UseShellExecute = false;
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        DataReceivedEventHandler handler = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_output)
            {
                if (_output.Length < 64 * 1024)
                {
                    _output.AppendLine(e.Data);
                }
            }

            onLine(e.Data);
        };
        process.OutputDataReceived += handler;
        process.ErrorDataReceived += handler;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Process = process;
        return process;
    }
}

/// <summary>The MqttIm broker, started from its built dll on free ports with a fresh data directory.</summary>
public sealed partial class MqttImBroker : BrokerUnderTest
{
    private readonly JwtTokenIssuer _issuer;
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);

    private MqttImBroker(string dataDirectory)
    {
        DataDirectory = dataDirectory;
        Secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        AdminKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var auth = new AuthOptions { Hs256Secret = Secret, AdminApiKey = AdminKey };
        _issuer = new JwtTokenIssuer(SigningKeys.Load(auth, dataDirectory, NullLogger.Instance), auth);
    }

    public override BrokerKind Kind => BrokerKind.MqttIm;

    public string DataDirectory { get; }

    public string Secret { get; }

    public string AdminKey { get; }

    public int HttpPort { get; private set; }

    public static async Task<MqttImBroker> StartAsync(string brokerDll, params string[] extraArgs)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var broker = new MqttImBroker(dataDirectory);
        var startInfo = new ProcessStartInfo("dotnet");
        foreach (var arg in new[]
        {
            brokerDll,
            "--Listen:Address=127.0.0.1",
            "--Listen:MqttPort=0",
            "--Listen:HttpPort=0",
            $"--Storage:DataDirectory={dataDirectory}",
            $"--Auth:Hs256Secret={broker.Secret}",
            $"--Auth:AdminApiKey={broker.AdminKey}",
            "--Logging:LogLevel:Default=Warning",
            // The per-client publish limit (default 200/s) protects production brokers; a benchmark measures the broker, not the limit.
            "--Moderation:PublishesPerSecond=0",
            // Likewise the per-user chat limit of rooms (the room scenario's senders send hundreds per second each).
            "--Rooms:UserMessagesPerSecond=0",
            // MQTTIM_BENCH_BROKER_LOG=path keeps the broker's log (with connect/disconnect lines) for a run that needs explaining.
            Environment.GetEnvironmentVariable("MQTTIM_BENCH_BROKER_LOG") is { Length: > 0 } ? "--Logging:LogLevel:MqttIm=Debug" : "--Logging:LogLevel:MqttIm=Warning",
        }.Concat(extraArgs))
        {
            startInfo.ArgumentList.Add(arg);
        }

        // MQTTIM_BENCH_BROKER_ENV="DOTNET_GCgen0size=0x400000;X=Y" sets environment variables for the MqttIm process only (A/B runs of runtime knobs).
        foreach (var pair in (Environment.GetEnvironmentVariable("MQTTIM_BENCH_BROKER_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                startInfo.Environment[pair[..eq]] = pair[(eq + 1)..];
            }
        }

        var ready = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = broker.StartProcess(startInfo, line =>
        {
            var match = ReadyLine().Match(line);
            if (match.Success)
            {
                ready.TrySetResult(match);
            }
        });
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("MqttIm exited before it was ready:\n" + broker.Output));
        var m = await ReadyOrKillAsync(broker, ready.Task).ConfigureAwait(false);
        broker.MqttPort = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        broker.HttpPort = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        broker.Pid = int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
        Log.Info($"  MqttIm started: pid={broker.Pid} mqtt={broker.MqttPort} http={broker.HttpPort} data={dataDirectory}");
        return broker;
    }

    public string Token(string userId)
    {
        lock (_tokens)
        {
            if (!_tokens.TryGetValue(userId, out var token))
            {
                token = _issuer.Issue(userId, TimeSpan.FromHours(2)).Token;
                _tokens[userId] = token;
            }

            return token;
        }
    }

    public override MqttClientOptionsBuilder ClientOptions(string userId, string clientId) =>
        BaseOptions(MqttPort, clientId).WithCredentials(userId, Token(userId));

    /// <summary>The broker's Prometheus text, for the allocation and GC counters of a run.</summary>
    public async Task<string> MetricsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}/metrics")).ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        if (Environment.GetEnvironmentVariable("MQTTIM_BENCH_BROKER_LOG") is { Length: > 0 } logPath)
        {
            await File.AppendAllTextAsync(logPath, Output).ConfigureAwait(false);
        }

        try
        {
            if (!Directory.Exists(DataDirectory))
            {
                return;
            }

            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"MqttIm ready: mqtt=(\d+).* http=(\d+).* pid=(\d+)")]
    private static partial Regex ReadyLine();
}

/// <summary>Eclipse Mosquitto with a generated config, anonymous, on a free loopback port.</summary>
public sealed class MosquittoBroker : BrokerUnderTest
{
    public const string DefaultPath = "/usr/sbin/mosquitto";

    private string _directory = "";

    public override BrokerKind Kind => BrokerKind.Mosquitto;

    public static string? Version { get; private set; }

    public static bool IsInstalled(string path) => File.Exists(path);

    public static async Task<MosquittoBroker> StartAsync(string path)
    {
        var broker = new MosquittoBroker();
        broker._directory = Path.Combine(Path.GetTempPath(), "mosquitto-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(broker._directory);
        var port = FreePort();
        var conf = Path.Combine(broker._directory, "mosquitto.conf");
        await File.WriteAllTextAsync(conf, $"""
            # generated by MqttIm.Bench
            listener {port} 127.0.0.1
            allow_anonymous true
            max_connections -1
            max_queued_messages 1000
            persistence false
            # Kestrel (MqttIm) disables Nagle on its sockets; do the same here so latencies compare like for like.
            set_tcp_nodelay true
            log_dest stderr
            log_type error
            log_type warning

            """).ConfigureAwait(false);
        var startInfo = new ProcessStartInfo(path);
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(conf);
        var process = broker.StartProcess(startInfo, _ => { });
        broker.Pid = process.Id;
        broker.MqttPort = port;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("mosquitto exited at start:\n" + broker.Output);
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }

        Version ??= await ReadVersionAsync(path).ConfigureAwait(false);
        Log.Info($"  Mosquitto started: pid={broker.Pid} mqtt={port}");
        return broker;
    }

    public override MqttClientOptionsBuilder ClientOptions(string userId, string clientId) => BaseOptions(MqttPort, clientId);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        if (Environment.GetEnvironmentVariable("MQTTIM_BENCH_BROKER_LOG") is { Length: > 0 } logPath)
        {
            await File.AppendAllTextAsync(logPath, Output).ConfigureAwait(false);
        }

        try
        {
            if (!Directory.Exists(_directory))
            {
                return;
            }

            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<string> ReadVersionAsync(string path)
    {
        try
        {
            var startInfo = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            startInfo.ArgumentList.Add("-h");
            using var p = Process.Start(startInfo)!;
            var text = await p.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            await p.WaitForExitAsync().ConfigureAwait(false);
            return text.Split('\n').FirstOrDefault(l => l.Contains("version", StringComparison.Ordinal))?.Trim() ?? "mosquitto";
        }
        catch (Exception ex) when (ex is IOException or System.ComponentModel.Win32Exception)
        {
            return "mosquitto";
        }
    }
}

/// <summary>
/// MQTTnet 5's server with default options, no hooks: this bench's own <c>bare-mqttnet</c> verb started as a child
/// process (see <see cref="BareMqttnetServer"/>), anonymous, on a free loopback port.
/// </summary>
public sealed partial class BareMqttnetBroker : BrokerUnderTest
{
    public override BrokerKind Kind => BrokerKind.BareMqttnet;

    public static async Task<BareMqttnetBroker> StartAsync()
    {
        var broker = new BareMqttnetBroker();
        var port = FreePort();
        var self = typeof(BareMqttnetBroker).Assembly.Location;
        var startInfo = new ProcessStartInfo("dotnet");
        foreach (var arg in new[] { self, BareMqttnetServer.Verb, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            startInfo.ArgumentList.Add(arg);
        }

        var ready = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = broker.StartProcess(startInfo, line =>
        {
            var match = ReadyLine().Match(line);
            if (match.Success)
            {
                ready.TrySetResult(match);
            }
        });
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("bare MQTTnet exited before it was ready:\n" + broker.Output));
        var m = await ReadyOrKillAsync(broker, ready.Task).ConfigureAwait(false);
        broker.MqttPort = port;
        broker.Pid = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Log.Info($"  bare MQTTnet started: pid={broker.Pid} mqtt={port}");
        return broker;
    }

    public override MqttClientOptionsBuilder ClientOptions(string userId, string clientId) => BaseOptions(MqttPort, clientId);

    [GeneratedRegex(@"bare-mqttnet ready: port=\d+ pid=(\d+)")]
    private static partial Regex ReadyLine();
}
