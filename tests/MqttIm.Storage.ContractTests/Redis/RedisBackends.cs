using MqttIm.ImExtensions.Cluster;
using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Moderation;
using MqttIm.ImExtensions.Sequencing;
using MqttIm.Testing;
using StackExchange.Redis;

namespace MqttIm.Storage.ContractTests.Redis;

/// <summary>The seq contract on Redis (a private redis-server; a fresh key prefix per test).</summary>
public sealed class RedisSeqAllocatorTests(RedisServer redis) : SeqAllocatorContract, IClassFixture<RedisServer>, IDisposable
{
    private readonly ConnectionMultiplexer _connection = ConnectionMultiplexer.Connect(redis.Configuration);
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";

    protected override ISeqAllocator CreateAllocator(Func<string, long> storedMaxSeq) =>
        new RedisSeqAllocator(_connection, new RedisKeys(_prefix), (id, _) => Task.FromResult(storedMaxSeq(id)));

    public void Dispose() => _connection.Dispose();
}

/// <summary>The router contract on two nodes sharing one Redis: every case crosses from node A to node B.</summary>
public sealed class RedisOnlineRouterTests(RedisServer redis) : OnlineRouterContract, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ConnectionMultiplexer _connection = ConnectionMultiplexer.Connect(redis.Configuration);
    private readonly List<RedisTestNode> _nodes = [];

    internal override IOnlineRouter CreateRouter()
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";
        var a = new RedisTestNode(_connection, prefix, "node-a");
        var b = new RedisTestNode(_connection, prefix, "node-b");
        _nodes.Add(a);
        _nodes.Add(b);
        return new TwoNodeRouter(a, b);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _connection.Dispose();
    }
}

/// <summary>The per-user budget on Redis: one <see cref="RedisUserPublishBudget"/> per node, sharing one Redis and key prefix.</summary>
public sealed class RedisUserPublishBudgetTests(RedisServer redis) : UserPublishBudgetContract, IClassFixture<RedisServer>, IDisposable
{
    private readonly ConnectionMultiplexer _connection = ConnectionMultiplexer.Connect(redis.Configuration);

    internal override IReadOnlyList<IUserPublishBudget> CreateShared(ModerationOptions options, int count)
    {
        var keys = new RedisKeys("t" + Guid.NewGuid().ToString("N")[..8] + ":");
        return Enumerable.Range(0, count)
            .Select(_ => (IUserPublishBudget)new RedisUserPublishBudget(_connection, keys, Wrap(options), Time, NullLogger<RedisUserPublishBudget>.Instance))
            .ToList();
    }

    public void Dispose() => _connection.Dispose();
}
