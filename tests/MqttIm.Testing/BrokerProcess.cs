using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MqttIm.ImExtensions.Auth;
using Microsoft.Extensions.Logging.Abstractions;

namespace MqttIm.Testing;

/// <summary>
/// The real broker in its own process, on free loopback ports and its own temp data directory, with a known token
/// secret so tests can mint tokens. Can be killed with SIGKILL and restarted on the same data.
/// </summary>
public sealed partial class BrokerProcess : ITestBroker, IAsyncDisposable
{
    private const string SecretVariable = "MQTTIM_Auth__Hs256Secret";
    private readonly string[] _extraArgs;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private BrokerProcess(string dataDirectory, string[] extraArgs, BrokerKeys? keys = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        DataDirectory = dataDirectory;
        _extraArgs = extraArgs;
        _environment = environment ?? new Dictionary<string, string>();
        // A secret given in the environment is the broker's (no --Auth:Hs256Secret on its command line then).
        Secret = _environment.TryGetValue(SecretVariable, out var fromEnvironment) ? fromEnvironment : keys?.Secret ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        AdminKey = keys?.AdminKey ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var auth = new AuthOptions { Hs256Secret = Secret, AdminApiKey = AdminKey };
        Issuer = new JwtTokenIssuer(SigningKeys.Load(auth, dataDirectory, NullLogger.Instance), auth);
    }

    public string DataDirectory { get; }

    public string Secret { get; }

    public string AdminKey { get; }

    public JwtTokenIssuer Issuer { get; }

    public int MqttPort { get; private set; }

    public int HttpPort { get; private set; }

    /// <summary>The HTTPS (wss) port when the broker was started with one, else 0.</summary>
    public int HttpsPort { get; private set; }

    /// <summary>The MQTT-over-TLS port when the broker was started with a TLS listener, else 0.</summary>
    public int MqttTlsPort { get; private set; }

    public int ProcessId => _process?.Id ?? -1;

    /// <summary>Everything the broker wrote to stdout and stderr so far (for failure messages).</summary>
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

    public static async Task<BrokerProcess> StartAsync(params string[] extraArgs)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var broker = new BrokerProcess(dataDirectory, extraArgs);
        await broker.LaunchAsync();
        return broker;
    }

    /// <summary>Starts the broker with these environment variables as well (e.g. <c>MQTTIM_Auth__Hs256Secret</c>).</summary>
    public static async Task<BrokerProcess> StartWithEnvironmentAsync(IReadOnlyDictionary<string, string> environment, params string[] extraArgs)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var broker = new BrokerProcess(dataDirectory, extraArgs, environment: environment);
        await broker.LaunchAsync();
        return broker;
    }

    /// <summary>A broker that shares its token secret and admin key with others (the nodes of one cluster).</summary>
    public static async Task<BrokerProcess> StartWithKeysAsync(BrokerKeys keys, params string[] extraArgs)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var broker = new BrokerProcess(dataDirectory, extraArgs, keys);
        await broker.LaunchAsync();
        return broker;
    }

    public string Token(string userId, TimeSpan? lifetime = null) => Issuer.Issue(userId, lifetime).Token;

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the broker again on the same data directory (and, if free, the same ports).</summary>
    public Task RestartAsync() => LaunchAsync();

    /// <summary>SIGTERM (a normal shutdown request); true when the process has exited within <paramref name="within"/>.</summary>
    public async Task<bool> TerminateAsync(TimeSpan within)
    {
        if (_process is not { HasExited: false } process)
        {
            return true;
        }

        if (SendSignal(process.Id, 15) != 0)
        {
            throw new InvalidOperationException("kill(SIGTERM) failed");
        }

        using var cts = new CancellationTokenSource(within);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>CPU time (user + system) the broker process has used so far (Linux, /proc/&lt;pid&gt;/stat).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{ProcessId}/stat");
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15, in clock ticks (100 Hz on Linux).
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>Resident memory of the broker process in bytes (Linux).</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{ProcessId}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            }
        }

        throw new InvalidOperationException("VmRSS not found");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task LaunchAsync()
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(RepoPaths.BrokerDll);
        foreach (var (name, value) in _environment)
        {
            startInfo.Environment[name] = value;
        }

        foreach (var arg in new[]
        {
            "--Listen:Address=127.0.0.1",
            $"--Listen:MqttPort={(MqttPort > 0 ? MqttPort : 0)}",
            $"--Listen:HttpPort={(HttpPort > 0 ? HttpPort : 0)}",
            $"--Storage:DataDirectory={DataDirectory}",
            $"--Auth:Hs256Secret={Secret}",
            $"--Auth:AdminApiKey={AdminKey}",
            "--Logging:LogLevel:Default=Warning",
        }.Where(a => !(a.StartsWith("--Auth:Hs256Secret=", StringComparison.Ordinal) && _environment.ContainsKey(SecretVariable))).Concat(_extraArgs))
        {
            startInfo.ArgumentList.Add(arg);
        }

        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, ready);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, ready);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("broker exited before it was ready:\n" + Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var line = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var match = ReadyLine().Match(line);
        MqttPort = int.Parse(match.Groups[1].Value);
        MqttTlsPort = match.Groups[2].Success ? int.Parse(match.Groups[2].Value) : 0;
        HttpPort = int.Parse(match.Groups[3].Value);
        HttpsPort = match.Groups[4].Success ? int.Parse(match.Groups[4].Value) : 0;
    }

    private void OnLine(string? line, TaskCompletionSource<string> ready)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (ReadyLine().IsMatch(line))
        {
            ready.TrySetResult(line);
        }
    }

    [GeneratedRegex(@"MqttIm ready: mqtt=(\d+)(?: mqtts=(\d+))? http=(\d+)(?: https=(\d+))?")]
    private static partial Regex ReadyLine();
}

/// <summary>The token secret and admin key several broker processes share.</summary>
public sealed record BrokerKeys(string Secret, string AdminKey)
{
    public static BrokerKeys Generate() =>
        new(Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
}
