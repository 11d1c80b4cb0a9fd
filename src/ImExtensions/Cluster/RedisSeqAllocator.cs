using System.Collections.Concurrent;
using MqttIm.ImExtensions.Sequencing;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Cluster-wide seqs: one Redis counter per conversation (INCR), created from the store's highest seq when missing, so
/// a conversation's seqs never repeat or go back even after Redis lost its keys (flushed, or restarted behind its AOF).
/// </summary>
/// <remarks>
/// Two guards against going back: a missing key is seeded from the store (<c>GetMaxSeqAsync</c>), and every call also
/// passes the highest seq this node was handed for the conversation as a floor the counter is raised to. What another
/// node was handed but had not stored yet can still be handed again after a flush; the store's unique
/// (conversation, seq) refuses the second commit and its batch resyncs, so nothing is stored twice under one seq.
/// </remarks>
internal sealed class RedisSeqAllocator(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    Func<string, CancellationToken, Task<long>> loadMaxSeq,
    Microsoft.Extensions.Logging.ILogger? logger = null) : ISeqAllocator
{
    // @key seq counter; @seed the store's max ('' = not loaded yet); @floor the highest seq this node was handed.
    // Returns the next seq, or -1 when the key is missing and no seed was given (the caller loads one and asks again).
    private const string NextScript = """
        local current = redis.call('GET', @key)
        if not current then
          if @seed == '' then return -1 end
          local seed = tonumber(@seed)
          local floor = tonumber(@floor)
          if floor > seed then seed = floor end
          redis.call('SET', @key, seed)
        elseif tonumber(current) < tonumber(@floor) then
          redis.call('SET', @key, @floor)
        end
        return redis.call('INCR', @key)
        """;

    // KEYS[i] a conversation's counter; ARGV[3i-2] how many seqs, ARGV[3i-1] the store seed ('' = not loaded), ARGV[3i] this node's floor.
    private const string ReserveScript = """
        local out = {}
        for i = 1, #KEYS do
          local count = tonumber(ARGV[3 * i - 2])
          local seed = ARGV[3 * i - 1]
          local floor = tonumber(ARGV[3 * i])
          local current = redis.call('GET', KEYS[i])
          if not current then
            if seed == '' then
              out[i] = -1
            else
              local start = tonumber(seed)
              if floor > start then start = floor end
              redis.call('SET', KEYS[i], start)
              out[i] = redis.call('INCRBY', KEYS[i], count)
            end
          else
            if tonumber(current) < floor then redis.call('SET', KEYS[i], floor) end
            out[i] = redis.call('INCRBY', KEYS[i], count)
          end
        end
        return out
        """;

    private const int MaxFloors = 200_000;

    private static readonly LuaScript Next = LuaScript.Prepare(NextScript);

    private readonly ConcurrentDictionary<string, long> _floors = new(StringComparer.Ordinal);

    /// <summary>A node that dies between allocating and storing leaves a gap already (docs/PROTOCOL.md, cluster mode).</summary>
    public bool KeepsSeqsContiguous => false;

    public async ValueTask<long> NextAsync(string conversationId, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var key = keys.Seq(conversationId);
        var floor = _floors.TryGetValue(conversationId, out var known) ? known : 0;
        var seq = (long)await database.ScriptEvaluateAsync(Next, new { key, seed = "", floor }).ConfigureAwait(false);
        if (seq < 0)
        {
            var stored = await loadMaxSeq(conversationId, cancellationToken).ConfigureAwait(false);
            seq = (long)await database.ScriptEvaluateAsync(Next, new { key, seed = stored.ToString(System.Globalization.CultureInfo.InvariantCulture), floor }).ConfigureAwait(false);
        }

        RaiseFloor(conversationId, seq);
        return seq;
    }

    public async ValueTask<long[]> NextManyAsync(IReadOnlyList<string> conversationIds, CancellationToken cancellationToken)
    {
        // Distinct conversations in first-seen order, each with how many seqs it needs: one INCRBY reserves a block.
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var distinct = new List<string>();
        var counts = new List<long>();
        foreach (var id in conversationIds)
        {
            if (!index.TryGetValue(id, out var i))
            {
                index[id] = i = distinct.Count;
                distinct.Add(id);
                counts.Add(0);
            }

            counts[i]++;
        }

        var tops = await ReserveAsync(distinct, counts, seeds: null).ConfigureAwait(false);
        var cold = Enumerable.Range(0, distinct.Count).Where(i => tops[i] < 0).ToList();
        if (cold.Count > 0)
        {
            // Missing counters (first use, or Redis lost them): seed from the store, then reserve those again.
            var seeds = await Task.WhenAll(cold.Select(i => loadMaxSeq(distinct[i], cancellationToken))).ConfigureAwait(false);
            var again = await ReserveAsync([.. cold.Select(i => distinct[i])], [.. cold.Select(i => counts[i])], seeds).ConfigureAwait(false);
            for (var j = 0; j < cold.Count; j++)
            {
                tops[cold[j]] = again[j];
            }
        }

        // Block [top - count + 1, top] of each conversation, handed out in the order the entries were listed.
        var next = new long[distinct.Count];
        for (var i = 0; i < distinct.Count; i++)
        {
            next[i] = tops[i] - counts[i] + 1;
            RaiseFloor(distinct[i], tops[i]);
        }

        var seqs = new long[conversationIds.Count];
        for (var k = 0; k < seqs.Length; k++)
        {
            seqs[k] = next[index[conversationIds[k]]]++;
        }

        return seqs;
    }

    /// <summary>One script call: per conversation, INCRBY its count (after seeding/raising to the floor); -1 where the key is missing and no seed was given.</summary>
    private async Task<long[]> ReserveAsync(IReadOnlyList<string> conversationIds, IReadOnlyList<long> counts, long[]? seeds)
    {
        var redisKeys = new RedisKey[conversationIds.Count];
        var values = new RedisValue[conversationIds.Count * 3];
        for (var i = 0; i < conversationIds.Count; i++)
        {
            redisKeys[i] = keys.Seq(conversationIds[i]);
            values[3 * i] = counts[i];
            values[3 * i + 1] = seeds is null ? "" : seeds[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
            values[3 * i + 2] = _floors.TryGetValue(conversationIds[i], out var floor) ? floor : 0;
        }

        var result = await redis.GetDatabase().ScriptEvaluateAsync(ReserveScript, redisKeys, values).ConfigureAwait(false);
        return (long[])result!;
    }

    /// <summary>After a failed commit the store is the truth again: the counter and this node's floor are dropped and re-seeded on next use.</summary>
    public async ValueTask ResyncAsync(IEnumerable<string> conversationIds, CancellationToken cancellationToken)
    {
        var toDelete = new List<RedisKey>();
        foreach (var id in conversationIds)
        {
            _floors.TryRemove(id, out _);
            toDelete.Add(keys.Seq(id));
        }

        if (toDelete.Count > 0)
        {
            try
            {
                await redis.GetDatabase().KeyDeleteAsync([.. toDelete]).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Never throw into the commit loop: a counter left ahead only leaves unused seqs, which sync reports as skipped.
                if (logger is not null)
                {
                    ClusterLog.SeqResyncFailed(logger, ex);
                }
            }
        }
    }

    private void RaiseFloor(string conversationId, long seq)
    {
        if (_floors.Count >= MaxFloors)
        {
            // Bounded memory: dropping floors only removes the second guard; the store seed and unique key remain.
            _floors.Clear();
        }

        _floors.AddOrUpdate(conversationId, seq, (_, old) => Math.Max(old, seq));
    }
}
