using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Xunit;

namespace MqttIm.Testing;

/// <summary>
/// A cluster on loopback: a private Redis, a shared store (a private PostgreSQL by default) and N broker processes
/// sharing one token secret, each with its own node id, ports and data directory. Heartbeats are fast so node failure
/// is noticed within about two seconds.
/// </summary>
public class BrokerCluster : IAsyncLifetime
{
    private readonly int _nodeCount;

    public BrokerCluster() : this(3)
    {
    }

    protected BrokerCluster(int nodeCount) => _nodeCount = nodeCount;

    public RedisServer Redis { get; } = new();

    public PostgresServer Postgres { get; } = new();

    public BrokerKeys Keys { get; } = BrokerKeys.Generate();

    public List<BrokerProcess> Nodes { get; } = [];

    public string StoreConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Redis.InitializeAsync();
        string[] storeArgs = [.. await StoreArgsAsync(), .. await ExtraNodeArgsAsync()];
        // The first node creates the schema; the others start together once it is there.
        Nodes.Add(await BrokerProcess.StartWithKeysAsync(Keys, NodeArgs(0, storeArgs)));
        var rest = await Task.WhenAll(Enumerable.Range(1, _nodeCount - 1).Select(i => BrokerProcess.StartWithKeysAsync(Keys, NodeArgs(i, storeArgs))));
        Nodes.AddRange(rest);
        await WaitForNodesAsync(_nodeCount, TimeSpan.FromSeconds(30));
    }

    /// <summary>The arguments that put a node on the shared store; PostgreSQL here (a MongoDB cluster overrides this).</summary>
    protected virtual async Task<string[]> StoreArgsAsync()
    {
        await Postgres.InitializeAsync();
        StoreConnectionString = await Postgres.CreateDatabaseAsync();
        return ["--Storage:Provider=PostgreSQL", $"--Storage:PostgreSQL:ConnectionString={StoreConnectionString}"];
    }

    /// <summary>Further settings every node gets (a test class's fake vendor servers …); none by default.</summary>
    protected virtual Task<string[]> ExtraNodeArgsAsync() => Task.FromResult<string[]>([]);

    /// <summary>Asks the entry endpoint of the first node that answers (as a client behind a load balancer would).</summary>
    public async Task<EntryAnswer> EntryAsync(CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        Exception? last = null;
        foreach (var node in Nodes)
        {
            try
            {
                var answer = await http.GetFromJsonAsync<EntryAnswer>($"http://127.0.0.1:{node.HttpPort}/api/entry", cancellationToken);
                if (answer is not null)
                {
                    return answer;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex; // that node is down: the next one answers
            }
        }

        throw new InvalidOperationException("no node answered /api/entry", last);
    }

    /// <summary>The node process listening on an MQTT port the entry endpoint handed out.</summary>
    public BrokerProcess NodeByMqttPort(int port) => Nodes.Single(n => n.MqttPort == port);

    /// <summary>Waits until the registry lists this many live nodes with an address (heartbeats seen).</summary>
    public async Task WaitForNodesAsync(int count, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            // Every node's view of the live set (the entry endpoint alone names one node only).
            var alive = 0;
            foreach (var node in Nodes)
            {
                try
                {
                    var nodes = await http.GetFromJsonAsync<EntryAnswer[]>($"http://127.0.0.1:{node.HttpPort}/api/entry/nodes");
                    alive = Math.Max(alive, nodes?.Count(n => n.MqttPort > 0) ?? 0);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                }
            }

            if (alive >= count)
            {
                return;
            }

            await Task.Delay(100); // polling heartbeats written by other processes: there is no event to wait on
        }

        throw new TimeoutException($"the cluster did not show {count} live nodes within {timeout}");
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }

    private string[] NodeArgs(int index, string[] storeArgs) =>
    [
        $"--Cluster:Redis={Redis.Configuration}",
        $"--Cluster:NodeId=node-{index}",
        "--Cluster:AdvertiseHost=127.0.0.1",
        "--Cluster:HeartbeatInterval=00:00:00.500",
        "--Cluster:NodeTimeout=00:00:02",
        "--Cluster:SeqGapGrace=00:00:01",
        "--Moderation:PublishesPerSecond=0",
        .. storeArgs,
    ];
}

/// <summary>The JSON of <c>GET /api/entry</c>.</summary>
public sealed record EntryAnswer(
    [property: JsonPropertyName("nodeId")] string NodeId,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("mqttPort")] int MqttPort,
    [property: JsonPropertyName("wsUrl")] string WsUrl,
    [property: JsonPropertyName("connections")] int Connections,
    [property: JsonPropertyName("cpu")] double Cpu);

/// <summary>The same cluster on MongoDB (<c>MONGODB_URI</c>, a fresh database per cluster); for <c>[Trait("Category", "MongoDB")]</c> classes.</summary>
public sealed class MongoBrokerCluster : BrokerCluster
{
    protected override Task<string[]> StoreArgsAsync() => Task.FromResult<string[]>(
    [
        "--Storage:Provider=MongoDB",
        $"--Storage:MongoDB:ConnectionString={MongoEnvironment.RequireUri()}",
        $"--Storage:MongoDB:Database={MongoEnvironment.UniqueDatabaseName()}",
    ]);
}
