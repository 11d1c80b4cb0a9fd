using System.Globalization;
using System.Runtime.InteropServices;

namespace MqttIm.Bench;

/// <summary>Linux /proc readings: CPU time and RSS of a process, the machine, and the open-files limit.</summary>
public static partial class ProcInfo
{
    private static readonly long ClockTicks = ReadClockTicks();

    /// <summary>utime + stime of the process in seconds (pid 0 = this process).</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText(pid == 0 ? "/proc/self/stat" : $"/proc/{pid}/stat");
            // Fields after the command name, which is in parentheses and may contain spaces.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state); utime is field 14, stime field 15.
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (utime + stime) / (double)ClockTicks;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>Busy CPU seconds of the whole machine (all cores, everything but idle and iowait) from /proc/stat.</summary>
    public static double MachineBusySeconds()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long busy = 0;
            foreach (var i in new[] { 1, 2, 3, 6, 7, 8 })
            {
                busy += long.Parse(f[i], CultureInfo.InvariantCulture);
            }

            return busy / (double)ClockTicks;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or IndexOutOfRangeException)
        {
            return double.NaN;
        }
    }

    /// <summary>Resident set size in bytes, or -1 when the process is gone.</summary>
    public static long ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines(pid == 0 ? "/proc/self/status" : $"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    public static string Machine()
    {
        var model = "unknown CPU";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException)
        {
        }

        long memKb = 0;
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            memKb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
        }

        return FormattableString.Invariant($"{Environment.ProcessorCount} cores ({model}), {memKb / 1024.0 / 1024.0:F1} GiB RAM, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
    }

    /// <summary>Raises the soft open-files limit to the hard limit; child processes inherit it. Returns (soft, hard) after.</summary>
    public static (ulong Soft, ulong Hard) RaiseOpenFilesLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (0, 0);
        }

        const int RlimitNofile = 7;
        if (getrlimit(RlimitNofile, out var limit) != 0)
        {
            return (0, 0);
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = new RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (setrlimit(RlimitNofile, ref raised) == 0)
            {
                limit = raised;
            }
        }

        return (limit.Current, limit.Maximum);
    }

    private static long ReadClockTicks()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 100;
        }

        const int ScClkTck = 2;
        var ticks = sysconf(ScClkTck);
        return ticks > 0 ? ticks : 100;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, ref RLimit limit);

    [LibraryImport("libc")]
    private static partial long sysconf(int name);
}
