namespace MqttIm.DeviceSdk.Devices;

/// <summary>Telemetry waiting to be sent: bounded, oldest dropped first, and points taken for sending can be put back in order.</summary>
internal sealed class TelemetryBuffer(int capacity)
{
    private readonly LinkedList<TelemetryItem> _items = new();
    private readonly SemaphoreSlim _available = new(0);
    private long _dropped;

    public int Count
    {
        get
        {
            lock (_items)
            {
                return _items.Count;
            }
        }
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Add(TelemetryItem item)
    {
        lock (_items)
        {
            _items.AddLast(item);
            if (_items.Count > capacity)
            {
                _items.RemoveFirst();
                Interlocked.Increment(ref _dropped);
            }
        }

        _available.Release();
    }

    /// <summary>Waits for at least one point, then takes up to <paramref name="max"/>.</summary>
    public async Task<List<TelemetryItem>> TakeAsync(int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_items)
            {
                if (_items.Count > 0)
                {
                    var taken = new List<TelemetryItem>();
                    while (taken.Count < max && _items.First is { } first)
                    {
                        taken.Add(first.Value);
                        _items.RemoveFirst();
                    }

                    return taken;
                }
            }

            // Every Add releases once, so a wake-up may find the points already taken by an earlier round: look again.
            await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Returns unsent points to the front, in their order.</summary>
    public void PutBack(IReadOnlyList<TelemetryItem> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        lock (_items)
        {
            for (var i = items.Count - 1; i >= 0; i--)
            {
                _items.AddFirst(items[i]);
            }
        }

        _available.Release();
    }
}

/// <summary>One buffered telemetry point.</summary>
internal sealed record TelemetryItem(string Subtopic, byte[] Payload, string ContentType);
