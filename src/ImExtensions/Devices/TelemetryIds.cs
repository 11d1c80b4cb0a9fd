namespace MqttIm.ImExtensions.Devices;

/// <summary>Telemetry point ids: receive time in ms shifted left 12 bits plus a counter, strictly increasing on this node.</summary>
internal sealed class TelemetryIds
{
    private long _last;

    public long Next(long nowMs)
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max(nowMs << 12, last + 1);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }
}
