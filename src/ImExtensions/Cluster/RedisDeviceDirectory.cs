using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// The cluster's device directory in Redis: per user, which node holds each inbox device. Entries live as long as
/// their node keeps heartbeating (the user's hash expires otherwise) and are dropped when their node is declared dead.
/// </summary>
internal sealed class RedisDeviceDirectory(IConnectionMultiplexer redis, RedisKeys keys, TimeSpan entryLifetime)
{
    // Claims the client id for this user and node; returns the entry it replaced (any user), or nil.
    private static readonly LuaScript Register = LuaScript.Prepare("""
        local previousUser = redis.call('GET', @ownerKey)
        local previous = false
        if previousUser and previousUser ~= @userId then
          local oldKey = @devicesPrefix .. previousUser
          previous = redis.call('HGET', oldKey, @clientId)
          redis.call('HDEL', oldKey, @clientId)
        else
          previous = redis.call('HGET', @devicesKey, @clientId)
        end
        redis.call('HSET', @devicesKey, @clientId, @entry)
        redis.call('PEXPIRE', @devicesKey, @lifetimeMs)
        redis.call('SET', @ownerKey, @userId, 'PX', @lifetimeMs)
        redis.call('SADD', @nodeUsersKey, @userId)
        return previous
        """);

    // Removes the entry only while it still names this node's connection (a newer connection elsewhere wins).
    private static readonly LuaScript Unregister = LuaScript.Prepare("""
        local current = redis.call('HGET', @devicesKey, @clientId)
        if current and string.sub(current, 1, string.len(@ownerPrefix)) == @ownerPrefix then
          redis.call('HDEL', @devicesKey, @clientId)
          if redis.call('GET', @ownerKey) == @userId then redis.call('DEL', @ownerKey) end
          return 1
        end
        return 0
        """);

    // Drops every entry of a dead node from one user's hash.
    private static readonly LuaScript RemoveNodeEntries = LuaScript.Prepare("""
        local all = redis.call('HGETALL', @devicesKey)
        local removed = 0
        for i = 1, #all, 2 do
          if string.sub(all[i + 1], 1, string.len(@nodePrefix)) == @nodePrefix then
            redis.call('HDEL', @devicesKey, all[i])
            removed = removed + 1
          end
        end
        return removed
        """);

    private readonly string _devicesPrefix = keys.UserDevices("").ToString();
    private readonly long _lifetimeMs = (long)entryLifetime.TotalMilliseconds;

    /// <summary>Records the device on this node; returns the entry it replaced (possibly on another node), or null.</summary>
    public async Task<DeviceDirectoryEntry?> RegisterAsync(string userId, string clientId, DeviceDirectoryEntry entry)
    {
        var previous = await redis.GetDatabase().ScriptEvaluateAsync(Register, new
        {
            ownerKey = keys.ClientOwner(clientId),
            devicesKey = keys.UserDevices(userId),
            nodeUsersKey = keys.NodeUsers(entry.NodeId),
            devicesPrefix = _devicesPrefix,
            userId,
            clientId,
            entry = entry.Serialise(),
            lifetimeMs = _lifetimeMs,
        }).ConfigureAwait(false);
        return previous.IsNull ? null : DeviceDirectoryEntry.Parse((string?)previous);
    }

    public async Task<bool> UnregisterAsync(string userId, string clientId, string nodeId, string connectionKey)
    {
        var removed = await redis.GetDatabase().ScriptEvaluateAsync(Unregister, new
        {
            devicesKey = keys.UserDevices(userId),
            ownerKey = keys.ClientOwner(clientId),
            ownerPrefix = DeviceDirectoryEntry.OwnerPrefix(nodeId, connectionKey),
            userId,
            clientId,
        }).ConfigureAwait(false);
        return (long)removed == 1;
    }

    /// <summary>The user's devices anywhere in the cluster, by client id.</summary>
    public async Task<IReadOnlyList<(string ClientId, DeviceDirectoryEntry Entry)>> GetAsync(string userId)
    {
        var fields = await redis.GetDatabase().HashGetAllAsync(keys.UserDevices(userId)).ConfigureAwait(false);
        return ToEntries(fields);
    }

    public async Task<DeviceDirectoryEntry?> GetDeviceAsync(string userId, string clientId) =>
        DeviceDirectoryEntry.Parse(await redis.GetDatabase().HashGetAsync(keys.UserDevices(userId), clientId).ConfigureAwait(false));

    /// <summary>Many users' devices in one pipelined round trip (group fan-out).</summary>
    public async Task<IReadOnlyList<(string ClientId, DeviceDirectoryEntry Entry)>[]> GetManyAsync(IReadOnlyList<string> userIds)
    {
        var batch = redis.GetDatabase().CreateBatch();
        var lookups = new Task<HashEntry[]>[userIds.Count];
        for (var i = 0; i < userIds.Count; i++)
        {
            lookups[i] = batch.HashGetAllAsync(keys.UserDevices(userIds[i]));
        }

        batch.Execute();
        var results = new IReadOnlyList<(string, DeviceDirectoryEntry)>[userIds.Count];
        for (var i = 0; i < lookups.Length; i++)
        {
            results[i] = ToEntries(await lookups[i].ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>Keeps this node's users' entries (and their client-id claims) alive for another lifetime.</summary>
    public async Task RefreshAsync(string nodeId, IReadOnlyCollection<(string UserId, string ClientId)> devices)
    {
        if (devices.Count == 0)
        {
            return;
        }

        var lifetime = TimeSpan.FromMilliseconds(_lifetimeMs);
        var batch = redis.GetDatabase().CreateBatch();
        var pending = new List<Task>(devices.Count * 2 + 1);
        foreach (var (userId, clientId) in devices)
        {
            pending.Add(batch.KeyExpireAsync(keys.UserDevices(userId), lifetime));
            pending.Add(batch.KeyExpireAsync(keys.ClientOwner(clientId), lifetime));
        }

        pending.Add(batch.KeyExpireAsync(keys.NodeUsers(nodeId), lifetime * 4));
        batch.Execute();
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    /// <summary>Restores this node's entries after Redis lost them (flush, restart without data): the directory must name every live device.</summary>
    public async Task ReassertAsync(string nodeId, IReadOnlyCollection<(string UserId, string ClientId, DeviceDirectoryEntry Entry)> devices)
    {
        if (devices.Count == 0)
        {
            return;
        }

        var database = redis.GetDatabase();
        var batch = database.CreateBatch();
        var pending = new List<Task>();
        foreach (var (userId, clientId, entry) in devices)
        {
            pending.Add(batch.ScriptEvaluateAsync(Register, new
            {
                ownerKey = keys.ClientOwner(clientId),
                devicesKey = keys.UserDevices(userId),
                nodeUsersKey = keys.NodeUsers(nodeId),
                devicesPrefix = _devicesPrefix,
                userId,
                clientId,
                entry = entry.Serialise(),
                lifetimeMs = _lifetimeMs,
            }));
        }

        batch.Execute();
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    /// <summary>Drops a dead node's entries from every user it held, then its user set.</summary>
    public async Task RemoveNodeAsync(string nodeId)
    {
        var database = redis.GetDatabase();
        var users = await database.SetMembersAsync(keys.NodeUsers(nodeId)).ConfigureAwait(false);
        var prefix = nodeId + "|";
        foreach (var user in users)
        {
            await database.ScriptEvaluateAsync(RemoveNodeEntries, new { devicesKey = keys.UserDevices(user.ToString()), nodePrefix = prefix }).ConfigureAwait(false);
        }

        await database.KeyDeleteAsync(keys.NodeUsers(nodeId)).ConfigureAwait(false);
    }

    /// <summary>Forgets that this node holds a user (its last local device left).</summary>
    public Task ForgetUserAsync(string nodeId, string userId) => redis.GetDatabase().SetRemoveAsync(keys.NodeUsers(nodeId), userId);

    private static IReadOnlyList<(string ClientId, DeviceDirectoryEntry Entry)> ToEntries(HashEntry[] fields)
    {
        if (fields.Length == 0)
        {
            return [];
        }

        var entries = new List<(string, DeviceDirectoryEntry)>(fields.Length);
        foreach (var field in fields)
        {
            if (DeviceDirectoryEntry.Parse(field.Value) is { } entry)
            {
                entries.Add((field.Name.ToString(), entry));
            }
        }

        return entries;
    }
}
