using System.Collections.Concurrent;
using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.Contracts.V1;
using MqttIm.Testing;
using Npgsql;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// The broker process on <c>Storage:Provider=PostgreSQL</c> (a private PostgreSQL server): 1:1 and group chat work, the
/// messages live in PostgreSQL (no embedded database is created), and a SIGKILL loses no acknowledged message.
/// </summary>
public sealed class PostgresStorageTests(PostgresServer postgres) : SharedStoreBrokerTests, IClassFixture<PostgresServer>
{
    protected override async Task<SharedStore> CreateStoreAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        return new SharedStore(
            ["--Storage:Provider=PostgreSQL", $"--Storage:PostgreSQL:ConnectionString={connectionString}"],
            async () =>
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                await using var count = new NpgsqlCommand("SELECT count(*) FROM im_messages", connection);
                return (long)(await count.ExecuteScalarAsync())!;
            });
    }
}

/// <summary>The same on <c>Storage:Provider=MongoDB</c>, against the server named by <c>MONGODB_URI</c> (run only when it is set).</summary>
[Trait("Category", MongoEnvironment.Category)]
public sealed class MongoStorageTests : SharedStoreBrokerTests
{
    protected override Task<SharedStore> CreateStoreAsync()
    {
        var uri = MongoEnvironment.RequireUri();
        var database = MongoEnvironment.UniqueDatabaseName();
        return Task.FromResult(new SharedStore(
            ["--Storage:Provider=MongoDB", $"--Storage:MongoDB:ConnectionString={uri}", $"--Storage:MongoDB:Database={database}"],
            async () =>
            {
                using var client = new MongoClient(uri);
                return await client.GetDatabase(database).GetCollection<BsonDocument>("messages").CountDocumentsAsync(FilterDefinition<BsonDocument>.Empty);
            }));
    }
}

/// <summary>A shared store for a broker process: its command-line settings and a way to count the messages it holds.</summary>
public sealed record SharedStore(string[] BrokerArgs, Func<Task<long>> CountStoredMessagesAsync);

/// <summary>What a broker on a shared (cluster) store must do, whichever store it is.</summary>
public abstract class SharedStoreBrokerTests
{
    protected abstract Task<SharedStore> CreateStoreAsync();

    private static async Task<GroupInfo> CreateGroupAsync(TestDevice owner, params string[] members)
    {
        var request = new GroupRequest { RequestId = Guid.NewGuid().ToString("N"), Name = "shared team", UserIds = { members } };
        var response = await owner.RpcAsync("group/create", request, request.RequestId);
        Assert.True(response.ResultCase == RpcResponse.ResultOneofCase.Group, $"group/create: {response}");
        return response.Group;
    }

    [Fact]
    public async Task ChatAndGroups_AreStoredInTheSharedStore()
    {
        var store = await CreateStoreAsync();
        await using var broker = await BrokerProcess.StartAsync(store.BrokerArgs);
        var (alice, bob, carol) = (TestUsers.Unique("pga"), TestUsers.Unique("pgb"), TestUsers.Unique("pgc"));
        await using var a = await TestDevice.ConnectAsync(broker, alice);
        await using var b = await TestDevice.ConnectAsync(broker, bob);
        await using var c = await TestDevice.ConnectAsync(broker, carol);

        var sent = await a.SendAsync(bob, "hello on postgres", "pg-1");
        Assert.True(sent.IsSuccess, sent.ReasonString);
        var received = await b.NextChatMessageAsync();
        Assert.Equal(("hello on postgres", 1L), (received.Text, received.Seq));
        var resent = await a.SendAsync(bob, "hello on postgres", "pg-1");
        Assert.Equal(("1", "true"), (resent.Property("seq"), resent.Property("duplicate")));

        var group = await CreateGroupAsync(a, bob, carol);
        var groupSend = await b.PublishAsync($"im/group/{group.GroupId}", b.Encode(new SendRequest { Text = "to the group" }));
        Assert.True(groupSend.IsSuccess, groupSend.ReasonString);
        ChatMessage groupMessage;
        do
        {
            groupMessage = await c.NextChatMessageAsync();
        }
        while (groupMessage.Kind != MessageKind.Normal);
        Assert.Equal(("to the group", 2L), (groupMessage.Text, groupMessage.Seq)); // seq 1 is the creation event

        // History comes back from the shared store, and the messages are there (the embedded database was never created).
        var synced = await c.SyncAllAsync();
        Assert.Equal(2, synced[$"group:{group.GroupId}"].Count);
        Assert.Equal(3L, await store.CountStoredMessagesAsync());
        Assert.False(File.Exists(Path.Combine(broker.DataDirectory, "mqttim.db")));
    }

    [Fact]
    public async Task Kill9MidStream_EveryAcknowledgedMessageSurvives_SeqsStayContiguous()
    {
        var store = await CreateStoreAsync();
        await using var broker = await BrokerProcess.StartAsync(store.BrokerArgs);
        var receiver = TestUsers.Unique("pgcrashb");
        var senders = Enumerable.Range(1, 4).Select(i => TestUsers.Unique($"pgcrash{i}")).ToArray();
        var acked = new ConcurrentDictionary<string, (string Conversation, long Seq)>();
        var devices = new List<TestDevice>();
        foreach (var sender in senders)
        {
            devices.Add(await TestDevice.ConnectAsync(broker, sender, subscribeInbox: false));
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var enoughAcked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // the kill waits on this, not a poll
        var loops = devices.Select(device => Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                var clientMsgId = $"{device.UserId}-{i}";
                try
                {
                    var result = await device.SendAsync(receiver, $"n{i}", clientMsgId);
                    if (result.IsSuccess)
                    {
                        acked[clientMsgId] = (result.Property("conversation_id")!, long.Parse(result.Property("seq")!));
                        if (acked.Count >= 400)
                        {
                            enoughAcked.TrySetResult();
                        }
                    }
                }
                catch (Exception)
                {
                    return; // the broker is gone
                }
            }
        })).ToList();

        try
        {
            await enoughAcked.Task.WaitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            // the senders ran out of time: kill anyway, the assertions below still hold for what was acknowledged
        }

        await broker.KillAsync();
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(30));
        foreach (var device in devices)
        {
            await device.DisposeAsync();
        }

        Assert.True(acked.Count >= 400, $"only {acked.Count} acks before the deadline");

        await broker.RestartAsync();
        await using var bob = await TestDevice.ConnectAsync(broker, receiver);
        var stored = await bob.SyncAllAsync(limit: 1000);

        Assert.Equal(senders.Length, stored.Count);
        foreach (var (_, messages) in stored)
        {
            Assert.Equal(Enumerable.Range(1, messages.Count).Select(i => (long)i), messages.Select(m => m.Seq));
        }

        var byClientMsgId = stored.Values.SelectMany(m => m).ToDictionary(m => m.ClientMsgId);
        foreach (var (clientMsgId, (conversation, seq)) in acked)
        {
            Assert.True(byClientMsgId.TryGetValue(clientMsgId, out var message), $"acknowledged {clientMsgId} is lost");
            Assert.Equal((conversation, seq), (message!.ConversationId, message.Seq));
        }

        // After the restart a conversation continues right after what the store holds.
        await using var again = await TestDevice.ConnectAsync(broker, senders[0], subscribeInbox: false);
        var next = await again.SendAsync(receiver, "after restart", "after-restart");
        var first = stored.Single(kv => kv.Value.Any(m => m.SenderId == senders[0]));
        Assert.Equal(first.Value.Count + 1, long.Parse(next.Property("seq")!));
    }
}

/// <summary>The embedded SQLite store is single-node: a node configured for a cluster must not start on it.</summary>
public sealed class StorageProviderStartupTests
{
    [Fact]
    public async Task SqliteWithClusterRedis_BrokerRefusesToStart_WithTheReason()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-test-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var outcome = await ProcessRunner.RunAsync("dotnet",
                [RepoPaths.BrokerDll, "--Listen:Address=127.0.0.1", "--Listen:MqttPort=0", "--Listen:HttpPort=0",
                 $"--Storage:DataDirectory={dataDirectory}", "--Auth:AdminApiKey=x", "--Cluster:Redis=127.0.0.1:1"],
                TimeSpan.FromSeconds(60));

            Assert.NotEqual(0, outcome.ExitCode);
            Assert.Contains("Storage:Provider=Sqlite is a single-node store", outcome.StdErr + outcome.StdOut);
            Assert.DoesNotContain("MqttIm ready", outcome.StdOut);
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task PostgresWithoutConnectionString_BrokerRefusesToStart_WithTheReason()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-test-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var outcome = await ProcessRunner.RunAsync("dotnet",
                [RepoPaths.BrokerDll, "--Listen:Address=127.0.0.1", "--Listen:MqttPort=0", "--Listen:HttpPort=0",
                 $"--Storage:DataDirectory={dataDirectory}", "--Auth:AdminApiKey=x", "--Storage:Provider=PostgreSQL"],
                TimeSpan.FromSeconds(60));

            Assert.NotEqual(0, outcome.ExitCode);
            Assert.Contains("Storage:PostgreSQL:ConnectionString", outcome.StdErr + outcome.StdOut);
            Assert.DoesNotContain("MqttIm ready", outcome.StdOut);
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }
}
