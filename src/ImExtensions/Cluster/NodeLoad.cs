using System.Diagnostics;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>This process's CPU use between two samples, as a fraction of all cores (0 … 1).</summary>
internal sealed class NodeLoad
{
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private long _lastTimestamp = Stopwatch.GetTimestamp();

    public double SampleCpu()
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var now = Stopwatch.GetTimestamp();
        var wall = Stopwatch.GetElapsedTime(_lastTimestamp, now);
        var used = cpu - _lastCpu;
        _lastCpu = cpu;
        _lastTimestamp = now;
        return wall <= TimeSpan.Zero ? 0 : Math.Clamp(used / wall / Environment.ProcessorCount, 0, 1);
    }
}
