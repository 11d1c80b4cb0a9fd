using System.Diagnostics;
using System.Threading.Channels;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>A long-running command whose output lines a test can wait for as they come (killed on dispose).</summary>
internal sealed class StreamingProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();

    private StreamingProcess(Process process)
    {
        _process = process;
    }

    public static StreamingProcess Start(string file, IEnumerable<string> args)
    {
        // stdbuf: C programs fully buffer stdout into a pipe; line buffering lets the test see each line as printed.
        var info = new ProcessStartInfo("stdbuf") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-oL");
        info.ArgumentList.Add(file);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var streaming = new StreamingProcess(process);
        process.OutputDataReceived += (_, e) => streaming.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => streaming.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return streaming;
    }

    /// <summary>The next line that matches, skipping others; fails after the timeout.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cts.Token);
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_process.StartInfo.ArgumentList[1]} printed no matching line within {timeout}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            _lines.Writer.TryWrite(line);
        }
    }
}
