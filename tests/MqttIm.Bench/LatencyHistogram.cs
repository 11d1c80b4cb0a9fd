namespace MqttIm.Bench;

/// <summary>
/// Lock-free log-linear histogram of latencies in microseconds (HdrHistogram-like, 32 sub-buckets per power of two,
/// so a percentile is within ~3 %). Max is exact.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBuckets = 32;
    private const int MaxExponent = 40;
    private readonly long[] _counts = new long[64 + (MaxExponent - 5) * SubBuckets];
    private long _max;
    private long _total;

    public long Count => Interlocked.Read(ref _total);

    public long MaxMicros => Interlocked.Read(ref _max);

    public void RecordTicks(long stopwatchTicks) => Record(stopwatchTicks * 1_000_000 / System.Diagnostics.Stopwatch.Frequency);

    public void Record(long micros)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _total);
        var seen = Interlocked.Read(ref _max);
        while (micros > seen)
        {
            var previous = Interlocked.CompareExchange(ref _max, micros, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }
    }

    /// <summary>The value (µs) at or below which <paramref name="percentile"/> % of the samples lie; upper edge of its bucket.</summary>
    public long Percentile(double percentile)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(total * percentile / 100.0);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), MaxMicros);
            }
        }

        return MaxMicros;
    }

    private static int Index(long v)
    {
        if (v < 64)
        {
            return (int)v;
        }

        var exponent = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)v);
        if (exponent >= MaxExponent + 1)
        {
            return 64 + (MaxExponent - 6) * SubBuckets + SubBuckets - 1;
        }

        var top = (int)(v >> (exponent - 5)); // 32..63
        return 64 + (exponent - 6) * SubBuckets + (top - SubBuckets);
    }

    private static long UpperEdge(int index)
    {
        if (index < 64)
        {
            return index;
        }

        var exponent = (index - 64) / SubBuckets + 6;
        var top = (index - 64) % SubBuckets + SubBuckets;
        return ((long)(top + 1) << (exponent - 5)) - 1;
    }
}
