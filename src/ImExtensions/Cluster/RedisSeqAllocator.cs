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

    private const int MaxFloors = 200_000;

    private static readonly LuaScript Next = LuaScript.Prepare(NextScript);

    private readonly ConcurrentDictionary<string, long> _floors = new(StringComparer.Ordinal);

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
