namespace MqttIm.ImExtensions.Diagnostics;

/// <summary>Lets at most one log line through per interval (lock-free) and counts the ones held back, so a flooding client cannot flood the log.</summary>
internal sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private long _nextAllowed = long.MinValue;
    private int _suppressed;

    /// <summary>True when a line may be written now; <paramref name="suppressedSince"/> is how many were held back since the last one.</summary>
    public bool TryEnter(out int suppressedSince)
    {
        var now = time.GetTimestamp();
        var next = Interlocked.Read(ref _nextAllowed);
        var allowedAgain = now + (long)(interval.TotalSeconds * time.TimestampFrequency);
        if (now >= next && Interlocked.CompareExchange(ref _nextAllowed, allowedAgain, next) == next)
        {
            suppressedSince = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        suppressedSince = 0;
        return false;
    }
}
