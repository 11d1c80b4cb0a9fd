namespace MqttIm.PushBridge.Scheduling;

/// <summary>At most N pushes per window per device (sliding window of send times); P0 is not counted against it.</summary>
internal sealed class DeviceRateLimiter(int limit, TimeSpan window)
{
    private readonly Dictionary<string, Queue<DateTimeOffset>> _sent = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>When the device may get its next push: <paramref name="now"/> if it may now.</summary>
    public DateTimeOffset NextAllowed(string deviceKey, DateTimeOffset now)
    {
        if (limit <= 0)
        {
            return now;
        }

        lock (_lock)
        {
            if (!_sent.TryGetValue(deviceKey, out var times))
            {
                return now;
            }

            Trim(times, now);
            return times.Count < limit ? now : times.Peek() + window;
        }
    }

    public void Record(string deviceKey, DateTimeOffset now)
    {
        if (limit <= 0)
        {
            return;
        }

        lock (_lock)
        {
            if (!_sent.TryGetValue(deviceKey, out var times))
            {
                _sent[deviceKey] = times = new Queue<DateTimeOffset>();
            }

            Trim(times, now);
            times.Enqueue(now);
        }
    }

    private void Trim(Queue<DateTimeOffset> times, DateTimeOffset now)
    {
        while (times.Count > 0 && times.Peek() + window <= now)
        {
            times.Dequeue();
        }
    }
}
