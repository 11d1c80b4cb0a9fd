using System.Text.Json;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Cluster-wide presence in Redis: per user a hash node → the client ids connected there (every device the node's
/// registry lists, inbox or not). A node writes its own field and announces the change on one channel in the same
/// script, so whoever reads the hash on that announcement sees at least that write.
/// </summary>
internal sealed class RedisPresenceBoard(IConnectionMultiplexer redis, RedisKeys keys)
{
    private const int ClearBatch = 500;

    private static readonly LuaScript Write = LuaScript.Prepare("""
        if @devices == '' then
          redis.call('HDEL', @userKey, @node)
          redis.call('SREM', @nodeUsersKey, @user)
        else
          redis.call('HSET', @userKey, @node, @devices)
          redis.call('SADD', @nodeUsersKey, @user)
        end
        redis.call('PUBLISH', @channel, @user)
        return 1
        """);

    private readonly string _channel = keys.PresenceChanges.ToString();

    /// <summary>
    /// Sets this node's devices of the user (none: removes the field) and announces it. The command is queued when this
    /// returns, so calls made in some order reach Redis in that order.
    /// </summary>
    public Task WriteAsync(string nodeId, string userId, IReadOnlyCollection<string> clientIds) =>
        redis.GetDatabase().ScriptEvaluateAsync(Write, new
        {
            userKey = keys.UserPresence(userId),
            nodeUsersKey = keys.NodePresenceUsers(nodeId),
            node = nodeId,
            user = userId,
            devices = clientIds.Count == 0 ? "" : JsonSerializer.Serialize(clientIds),
            channel = _channel,
        });

    /// <summary>Per user, the devices each node lists (pipelined: one round trip for the lot).</summary>
    public async Task<IReadOnlyList<(string NodeId, string[] ClientIds)>[]> ReadManyAsync(IReadOnlyList<string> userIds)
    {
        var batch = redis.GetDatabase().CreateBatch();
        var reads = new Task<HashEntry[]>[userIds.Count];
        for (var i = 0; i < userIds.Count; i++)
        {
            reads[i] = batch.HashGetAllAsync(keys.UserPresence(userIds[i]));
        }

        batch.Execute();
        var results = new IReadOnlyList<(string, string[])>[userIds.Count];
        for (var i = 0; i < reads.Length; i++)
        {
            var fields = await reads[i].ConfigureAwait(false);
            results[i] = [.. fields.Select(f => (f.Name.ToString(), Parse(f.Value)))];
        }

        return results;
    }

    /// <summary>Removes every field a node wrote (it died, left or restarts under its id) and announces each user; returns how many.</summary>
    public async Task<int> ClearNodeAsync(string nodeId)
    {
        var database = redis.GetDatabase();
        var users = await database.SetMembersAsync(keys.NodePresenceUsers(nodeId)).ConfigureAwait(false);
        foreach (var chunk in users.Chunk(ClearBatch))
        {
            var batch = database.CreateBatch();
            var pending = new List<Task>(chunk.Length * 3);
            foreach (var user in chunk)
            {
                pending.Add(batch.HashDeleteAsync(keys.UserPresence(user.ToString()), nodeId));
                pending.Add(batch.SetRemoveAsync(keys.NodePresenceUsers(nodeId), user));
                pending.Add(batch.PublishAsync(keys.PresenceChanges, user));
            }

            batch.Execute();
            await Task.WhenAll(pending).ConfigureAwait(false);
        }

        return users.Length;
    }

    private static string[] Parse(RedisValue value)
    {
        try
        {
            return value.IsNullOrEmpty ? [] : JsonSerializer.Deserialize<string[]>(value.ToString()) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
