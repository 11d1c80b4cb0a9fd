using System.Diagnostics;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Runs a command line to completion (bounded in time) and captures its output.</summary>
internal static class ProcessRunner
{
    public sealed record Outcome(int ExitCode, string StdOut, string StdErr);

    public static async Task<Outcome> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + file);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        return new Outcome(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The full path of a program on PATH, or a clear failure telling how to install it.</summary>
    public static string Require(string program, string debianPackage)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{program} is not installed: run 'apt-get install -y {debianPackage}' (the README's test command does this)");
    }
}
