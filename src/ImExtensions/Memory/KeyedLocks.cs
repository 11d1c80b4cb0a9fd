namespace MqttIm.ImExtensions.Memory;

/// <summary>
/// One async lock per key, held only while someone uses it: an entry is created on the first waiter and removed when the
/// last one releases, so the number of entries is the number of keys being worked on now, not every key ever locked.
/// Its size is exported as <c>mqttim_cache_entries{cache}</c>.
/// </summary>
internal sealed class KeyedLocks
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Prometheus.Gauge.Child _sizeMetric;

    public KeyedLocks(string name) => _sizeMetric = CacheMetrics.Entries.WithLabels(name);

    public int Count
    {
        get
        {
            lock (_entries)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Waits for the key's lock; dispose the result to release it.</summary>
    public async ValueTask<Releaser> AcquireAsync(string key, CancellationToken cancellationToken = default)
    {
        Entry entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out entry!))
            {
                _entries[key] = entry = new Entry();
                _sizeMetric.Set(_entries.Count);
            }

            entry.Users++;
        }

        try
        {
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(key, entry);
            throw;
        }

        return new Releaser(this, key, entry);
    }

    private void Leave(string key, Entry entry)
    {
        lock (_entries)
        {
            if (--entry.Users == 0)
            {
                _entries.Remove(key);
                _sizeMetric.Set(_entries.Count);
                entry.Gate.Dispose();
            }
        }
    }

    internal sealed class Entry
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public int Users; // waiting or holding; guarded by _entries
    }

    public readonly struct Releaser : IDisposable
    {
        private readonly KeyedLocks _owner;
        private readonly string _key;
        private readonly Entry _entry;

        internal Releaser(KeyedLocks owner, string key, Entry entry) => (_owner, _key, _entry) = (owner, key, entry);

        public void Dispose()
        {
            _entry.Gate.Release();
            _owner.Leave(_key, _entry);
        }
    }
}
