using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Nodes registered in Redis: each heartbeats its address and load; the live set is what routing trusts and what the
/// entry endpoint chooses from. A node whose heartbeat key expired is dead: any node that notices removes it.
/// </summary>
internal sealed class ClusterNodeRegistry(IConnectionMultiplexer redis, RedisKeys keys, ClusterNode self, TimeSpan nodeTimeout, TimeProvider clock)
{
    private volatile IReadOnlyDictionary<string, NodeInfo>? _live;
    private volatile NodeAddress? _address;

    public string NodeId => self.NodeId;

    /// <summary>The live nodes as of the last heartbeat (null before the first one).</summary>
    public IReadOnlyDictionary<string, NodeInfo>? LiveNodes => _live;

    public NodeAddress? Address => _address;

    public void Advertise(NodeAddress address) => _address = address;

    /// <summary>Whether routing should send to this node: itself always; others while heartbeating (unknown before the first heartbeat read).</summary>
    public bool IsAlive(string nodeId) => nodeId == self.NodeId || _live is not { } live || live.ContainsKey(nodeId);

    /// <summary>Writes this node's heartbeat and load, reads every node's, and returns the nodes found dead (not yet removed).</summary>
    public async Task<IReadOnlyList<string>> HeartbeatAsync(int connections, double cpu)
    {
        var database = redis.GetDatabase();
        var address = _address ?? new NodeAddress("", 0, "");
        var info = new NodeInfo(self.NodeId, address.Host, address.MqttPort, address.WsUrl, connections, Math.Round(cpu, 3), clock.GetUtcNow().ToUnixTimeMilliseconds());
        // One pipelined round trip for the write and the read (they were three in a row): an idle node beats every second.
        var beat = database.CreateBatch();
        var aliveWritten = beat.StringSetAsync(keys.NodeAlive(self.NodeId), "1", nodeTimeout);
        var infoWritten = beat.HashSetAsync(keys.Nodes, self.NodeId, info.Serialise());
        var reading = beat.HashGetAllAsync(keys.Nodes);
        beat.Execute();
        await Task.WhenAll(aliveWritten, infoWritten).ConfigureAwait(false);
        var all = await reading.ConfigureAwait(false);
        var batch = database.CreateBatch();
        var alive = new Task<bool>[all.Length];
        for (var i = 0; i < all.Length; i++)
        {
            alive[i] = batch.KeyExistsAsync(keys.NodeAlive(all[i].Name.ToString()));
        }

        batch.Execute();
        var live = new Dictionary<string, NodeInfo>(StringComparer.Ordinal);
        var dead = new List<string>();
        for (var i = 0; i < all.Length; i++)
        {
            var nodeId = all[i].Name.ToString();
            if (await alive[i].ConfigureAwait(false) && NodeInfo.Parse(all[i].Value) is { } node)
            {
                live[nodeId] = node;
            }
            else if (nodeId != self.NodeId)
            {
                dead.Add(nodeId);
            }
        }

        live[self.NodeId] = info;
        _live = live;
        return dead;
    }

    /// <summary>Deletes a dead node's registration (its directory entries are dropped by the caller).</summary>
    public Task RemoveAsync(string nodeId) => redis.GetDatabase().HashDeleteAsync(keys.Nodes, nodeId);

    /// <summary>Leaves the cluster at shutdown so nobody is sent here.</summary>
    public async Task LeaveAsync()
    {
        var database = redis.GetDatabase();
        await database.KeyDeleteAsync(keys.NodeAlive(self.NodeId)).ConfigureAwait(false);
        await database.HashDeleteAsync(keys.Nodes, self.NodeId).ConfigureAwait(false);
    }

    /// <summary>The healthy node a new client should use: fewest connections, then least CPU, among those with an address.</summary>
    public NodeInfo? LeastLoaded()
    {
        NodeInfo? best = null;
        foreach (var node in (_live ?? new Dictionary<string, NodeInfo>()).Values)
        {
            if (node.MqttPort <= 0)
            {
                continue;
            }

            if (best is null || node.Connections < best.Connections || (node.Connections == best.Connections && node.Cpu < best.Cpu))
            {
                best = node;
            }
        }

        return best;
    }
}
