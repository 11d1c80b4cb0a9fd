namespace MqttIm.ImExtensions.Memory;

/// <summary>
/// A thread-safe map that holds at most <see cref="Capacity"/> entries and drops the least recently used beyond it,
/// so a per-user, per-conversation or per-group structure cannot grow with everything the broker has ever seen.
/// Its size and evictions are exported as <c>mqttim_cache_entries{cache}</c> and <c>mqttim_cache_evictions_total{cache}</c>.
/// </summary>
internal sealed class BoundedLruCache<TKey, TValue>
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, LinkedListNode<KeyValuePair<TKey, TValue>>> _entries;
    private readonly LinkedList<KeyValuePair<TKey, TValue>> _recency = new(); // first = most recently used
    private readonly Prometheus.Gauge.Child _sizeMetric;
    private readonly Prometheus.Counter.Child _evictionMetric;

    public BoundedLruCache(string name, int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Name = name;
        Capacity = capacity;
        _entries = new Dictionary<TKey, LinkedListNode<KeyValuePair<TKey, TValue>>>(comparer);
        _sizeMetric = CacheMetrics.Entries.WithLabels(name);
        _evictionMetric = CacheMetrics.Evictions.WithLabels(name);
    }

    public string Name { get; }

    public int Capacity { get; }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Evictions since this cache was created (the metric adds up every cache of that name).</summary>
    public long Evictions { get; private set; }

    public bool TryGetValue(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                Touch(node);
                value = node.Value.Value;
                return true;
            }
        }

        value = default!;
        return false;
    }

    /// <summary>The cached value, or the one <paramref name="create"/> makes (inside the lock: keep it cheap and pure).</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                Touch(node);
                return node.Value.Value;
            }

            var value = create(key);
            AddLocked(key, value);
            return value;
        }
    }

    public void Set(TKey key, TValue value)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                node.Value = new KeyValuePair<TKey, TValue>(key, value);
                Touch(node);
                return;
            }

            AddLocked(key, value);
        }
    }

    public bool Remove(TKey key)
    {
        lock (_gate)
        {
            if (!_entries.Remove(key, out var node))
            {
                return false;
            }

            _recency.Remove(node);
            _sizeMetric.Set(_entries.Count);
            return true;
        }
    }

    /// <summary>Removes the entry only while it still holds <paramref name="expected"/> (a concurrent refresh wins).</summary>
    public bool Remove(TKey key, TValue expected)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var node) || !EqualityComparer<TValue>.Default.Equals(node.Value.Value, expected))
            {
                return false;
            }

            _entries.Remove(key);
            _recency.Remove(node);
            _sizeMetric.Set(_entries.Count);
            return true;
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
            _recency.Clear();
            _sizeMetric.Set(0);
        }
    }

    private void Touch(LinkedListNode<KeyValuePair<TKey, TValue>> node)
    {
        if (node != _recency.First)
        {
            _recency.Remove(node);
            _recency.AddFirst(node);
        }
    }

    private void AddLocked(TKey key, TValue value)
    {
        _entries[key] = _recency.AddFirst(new KeyValuePair<TKey, TValue>(key, value));
        while (_entries.Count > Capacity)
        {
            var oldest = _recency.Last!;
            _recency.RemoveLast();
            _entries.Remove(oldest.Value.Key);
            Evictions++;
            _evictionMetric.Inc();
        }

        _sizeMetric.Set(_entries.Count);
    }
}
