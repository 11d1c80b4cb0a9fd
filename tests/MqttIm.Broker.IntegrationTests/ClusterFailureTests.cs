using System.Collections.Concurrent;
using System.Diagnostics;
using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Failures under QoS 1 load on a 3-node cluster: a node killed with SIGKILL (its clients come back through the entry
/// endpoint on another node), Redis restarted, Redis flushed. Nothing acknowledged is lost or stored twice, and a
/// conversation's seqs never repeat or go back; every hole is one that sync reports as skipped.
/// </summary>
public abstract class ClusterFailureContract(BrokerCluster cluster)
{
    private const int MessagesPerSender = 60;

    [Fact]
    public async Task Kill9OfOneNode_UnderQoS1Load_ClientsReconnectViaEntryWithin5s_NothingAckedLostOrDuplicated()
    {
        var load = await StartLoadAsync("k", pairs: 6);
        await load.WaitForAcksAsync(90, TimeSpan.FromSeconds(60));

        var victim = cluster.Nodes[1];
        var onVictim = load.Clients.Where(c => c.Node == victim).ToList();
        Assert.NotEmpty(onVictim);
        var killedAt = Stopwatch.GetTimestamp();
        await victim.KillAsync();

        await load.CompleteAsync(TimeSpan.FromSeconds(120));
        foreach (var client in onVictim)
        {
            Assert.True(client.ReconnectedAt is { } at, $"{client.ClientId} never reconnected");
            var took = Stopwatch.GetElapsedTime(killedAt, client.ReconnectedAt!.Value);
            Assert.True(took < TimeSpan.FromSeconds(5), $"{client.ClientId} took {took} to reconnect");
            Assert.NotSame(victim, client.Node);
        }

        await VerifyAsync(load, checkConvergence: true);
        await victim.RestartAsync();
        await cluster.WaitForNodesAsync(3, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task RedisRestartedMidLoad_ServiceResumes_SeqsNeverRepeatOrGoBack()
    {
        var load = await StartLoadAsync("r", pairs: 3);
        await load.WaitForAcksAsync(45, TimeSpan.FromSeconds(60));

        await cluster.Redis.KillAsync();
        await cluster.Redis.StartAsync();

        await load.CompleteAsync(TimeSpan.FromSeconds(120));
        await VerifyAsync(load, checkConvergence: false);
    }

    [Fact]
    public async Task RedisFlushedMidLoad_ServiceResumes_SeqsNeverRepeatOrGoBack()
    {
        var load = await StartLoadAsync("f", pairs: 3);
        await load.WaitForAcksAsync(45, TimeSpan.FromSeconds(60));

        await cluster.Redis.FlushAllAsync();

        await load.CompleteAsync(TimeSpan.FromSeconds(120));
        await VerifyAsync(load, checkConvergence: false);
    }

    private async Task<Load> StartLoadAsync(string tag, int pairs)
    {
        var load = new Load();
        for (var i = 0; i < pairs; i++)
        {
            var sender = TestUsers.Unique($"{tag}s{i}");
            var receiver = TestUsers.Unique($"{tag}r{i}");
            var receiverClient = await ClusterClient.ConnectAsync(cluster, cluster.Nodes[(i + 1) % 3], receiver, subscribeInbox: true);
            var senderClient = await ClusterClient.ConnectAsync(cluster, cluster.Nodes[i % 3], sender, subscribeInbox: false);
            load.Clients.Add(receiverClient);
            load.Clients.Add(senderClient);
            load.Pairs.Add((senderClient, receiver));
        }

        load.Start();
        return load;
    }

    private async Task VerifyAsync(Load load, bool checkConvergence)
    {
        Assert.All(load.Pairs, p => Assert.Equal(MessagesPerSender, load.AckedBy(p.Sender.UserId).Count));
        foreach (var (sender, receiver) in load.Pairs)
        {
            var conversation = TestUsers.C2c(sender.UserId, receiver);
            var acked = load.AckedBy(sender.UserId);

            // Acknowledged seqs of one sender's sequential sends: unique and increasing (never repeated, never back).
            var ackedSeqs = Enumerable.Range(0, MessagesPerSender).Select(k => acked[$"{sender.UserId}-{k}"]).ToList();
            Assert.Equal(ackedSeqs.Order(), ackedSeqs);
            Assert.Equal(ackedSeqs.Count, ackedSeqs.Distinct().Count());

            await using var reader = await TestDevice.ConnectAsync(cluster.Nodes[0], receiver);
            var (stored, skipped) = await SyncExplainedAsync(reader, conversation, fromSeq: 0);

            // Every acknowledged message stored exactly once, under the seq its PUBACK named.
            Assert.Equal(stored.Count, stored.Select(m => m.ClientMsgId).Distinct().Count());
            var byClientMsgId = stored.ToDictionary(m => m.ClientMsgId);
            foreach (var (clientMsgId, seq) in acked)
            {
                Assert.True(byClientMsgId.TryGetValue(clientMsgId, out var message), $"acknowledged {clientMsgId} is lost");
                Assert.Equal(seq, message!.Seq);
            }

            // Seqs unique and increasing; every hole is reported by sync as skipped.
            var seqs = stored.Select(m => m.Seq).ToList();
            Assert.Equal(seqs.Distinct().Order(), seqs);
            var missing = Enumerable.Range(1, (int)seqs[^1]).Select(i => (long)i).Except(seqs).ToHashSet();
            Assert.Subset(skipped, missing);

            if (checkConvergence)
            {
                // The receiving device (live copies, across its reconnect) catches up from its own cursor to the same history.
                var device = load.Clients.Single(c => c.UserId == receiver);
                var live = device.Received(conversation);
                var cursor = 0L;
                while (live.Contains(cursor + 1) || skipped.Contains(cursor + 1))
                {
                    cursor++;
                }

                var (after, _) = await SyncExplainedAsync(device.Current, conversation, cursor);
                var held = live.Where(s => s <= cursor).Concat(after.Select(m => m.Seq)).Order().ToList();
                Assert.Equal(seqs, held);
            }
        }
    }

    /// <summary>Syncs one conversation until every hole below its newest message is reported skipped (holes settle after the grace period).</summary>
    private static async Task<(List<ChatMessage> Messages, HashSet<long> Skipped)> SyncExplainedAsync(TestDevice device, string conversation, long fromSeq)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var messages = new List<ChatMessage>();
            var skipped = new HashSet<long>();
            var cursor = fromSeq;
            for (var page = 0; page < 1000; page++)
            {
                var request = new SyncRequest { RequestId = Guid.NewGuid().ToString("N"), ConversationIds = { conversation }, Limit = 200 };
                request.Cursors[conversation] = cursor;
                var response = await device.RpcAsync("sync", request, request.RequestId);
                var sync = Assert.Single(response.Sync.Conversations);
                messages.AddRange(sync.Messages);
                skipped.UnionWith(sync.SkippedSeqs);
                if (sync.Messages.Count > 0)
                {
                    cursor = sync.Messages[^1].Seq;
                }

                if (!sync.HasMore)
                {
                    break;
                }
            }

            var seqs = messages.Select(m => m.Seq).ToHashSet();
            var top = seqs.Count == 0 ? fromSeq : seqs.Max();
            var unexplained = Enumerable.Range((int)fromSeq + 1, (int)(top - fromSeq)).Select(i => (long)i).Where(s => !seqs.Contains(s) && !skipped.Contains(s));
            if (!unexplained.Any() || DateTime.UtcNow > deadline)
            {
                return (messages, skipped);
            }

            await Task.Delay(200); // a hole is reported once it is older than Cluster:SeqGapGrace
        }
    }

    /// <summary>Senders sending QoS 1 to receivers on other nodes; every failed send is retried with the same client message id.</summary>
    private sealed class Load
    {
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, long>> _acked = new();
        private readonly List<Task> _loops = [];
        private readonly List<(int Count, TaskCompletionSource Reached)> _ackWaiters = [];
        private int _ackCount;

        public List<ClusterClient> Clients { get; } = [];

        public List<(ClusterClient Sender, string Receiver)> Pairs { get; } = [];

        public IReadOnlyDictionary<string, long> AckedBy(string sender) => _acked.GetOrAdd(sender, _ => new());

        public void Start()
        {
            foreach (var client in Clients.Where(c => c.Subscribed))
            {
                client.KeepConnected();
            }

            foreach (var (sender, receiver) in Pairs)
            {
                _loops.Add(Task.Run(() => SendAllAsync(sender, receiver)));
            }
        }

        /// <summary>Completes when the sending loops have had <paramref name="count"/> PUBACKs in all (signalled by the loops, not polled).</summary>
        public async Task WaitForAcksAsync(int count, TimeSpan timeout)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_ackWaiters)
            {
                if (_ackCount >= count)
                {
                    return;
                }

                _ackWaiters.Add((count, reached));
            }

            try
            {
                await reached.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"only {Volatile.Read(ref _ackCount)} acks within {timeout}");
            }
        }

        private void Acked()
        {
            lock (_ackWaiters)
            {
                _ackCount++;
                foreach (var (_, reached) in _ackWaiters.Where(w => w.Count <= _ackCount))
                {
                    reached.TrySetResult();
                }

                _ackWaiters.RemoveAll(w => w.Count <= _ackCount);
            }
        }

        public async Task CompleteAsync(TimeSpan timeout)
        {
            await Task.WhenAll(_loops).WaitAsync(timeout);
            foreach (var client in Clients)
            {
                client.StopReconnecting();
            }
        }

        private async Task SendAllAsync(ClusterClient sender, string receiver)
        {
            var acked = _acked.GetOrAdd(sender.UserId, _ => new());
            var deadline = DateTime.UtcNow.AddSeconds(110);
            for (var k = 0; k < MessagesPerSender; k++)
            {
                var clientMsgId = $"{sender.UserId}-{k}";
                while (true)
                {
                    Assert.True(DateTime.UtcNow < deadline, $"{sender.ClientId} could not send {clientMsgId}");
                    try
                    {
                        var result = await sender.Current.SendAsync(receiver, $"m{k}", clientMsgId);
                        if (result.IsSuccess)
                        {
                            acked[clientMsgId] = long.Parse(result.Property("seq")!);
                            Acked();
                            break;
                        }
                    }
                    catch (Exception) when (!sender.Current.Client.IsConnected)
                    {
                        await sender.ReconnectAsync();
                        continue;
                    }
                    catch (MQTTnet.Exceptions.MqttCommunicationException)
                    {
                        await sender.ReconnectAsync();
                        continue;
                    }

                    await Task.Delay(50); // refused (store or Redis briefly unavailable): back off, resend the same id
                }
            }
        }
    }

    /// <summary>One device that, when its node goes away, asks the entry endpoint for another node and reconnects with the same client id.</summary>
    private sealed class ClusterClient
    {
        private readonly BrokerCluster _cluster;
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<long, byte>> _received = new();
        private readonly SemaphoreSlim _reconnecting = new(1, 1);
        private volatile bool _keepConnected;

        private ClusterClient(BrokerCluster cluster, string userId, bool subscribed)
        {
            _cluster = cluster;
            UserId = userId;
            ClientId = userId + "-dev";
            Subscribed = subscribed;
        }

        public string UserId { get; }

        public string ClientId { get; }

        public bool Subscribed { get; }

        public TestDevice Current { get; private set; } = null!;

        public BrokerProcess Node { get; private set; } = null!;

        public long? ReconnectedAt { get; private set; }

        public static async Task<ClusterClient> ConnectAsync(BrokerCluster cluster, BrokerProcess node, string userId, bool subscribeInbox)
        {
            var client = new ClusterClient(cluster, userId, subscribeInbox);
            await client.AttachAsync(node);
            return client;
        }

        public HashSet<long> Received(string conversation) => [.. _received.GetOrAdd(conversation, _ => new()).Keys];

        public void KeepConnected() => _keepConnected = true;

        public void StopReconnecting() => _keepConnected = false;

        public async Task ReconnectAsync()
        {
            var stale = Current;
            await _reconnecting.WaitAsync();
            try
            {
                if (!ReferenceEquals(stale, Current) && Current.Client.IsConnected)
                {
                    return; // another caller already reconnected
                }

                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (true)
                {
                    try
                    {
                        var entry = await _cluster.EntryAsync();
                        await AttachAsync(_cluster.NodeByMqttPort(entry.MqttPort));
                        ReconnectedAt = Stopwatch.GetTimestamp();
                        return;
                    }
                    catch (Exception) when (DateTime.UtcNow < deadline)
                    {
                        await Task.Delay(100); // the entry endpoint may still name the dead node until its heartbeat expires
                    }
                }
            }
            finally
            {
                _reconnecting.Release();
            }
        }

        private async Task AttachAsync(BrokerProcess node)
        {
            var device = await TestDevice.ConnectAsync(node, UserId, ClientId, subscribeInbox: Subscribed);
            device.Client.ApplicationMessageReceivedAsync += args =>
            {
                if (args.ApplicationMessage.Topic == $"inbox/{UserId}")
                {
                    var evt = TestDevice.Decode(InboxEvent.Parser, args.ApplicationMessage);
                    if (evt.EventCase == InboxEvent.EventOneofCase.Message)
                    {
                        _received.GetOrAdd(evt.Message.ConversationId, _ => new())[evt.Message.Seq] = 0;
                    }
                }

                return Task.CompletedTask;
            };
            device.Client.DisconnectedAsync += args =>
            {
                if (_keepConnected && ReferenceEquals(device, Current))
                {
                    _ = Task.Run(ReconnectAsync);
                }

                return Task.CompletedTask;
            };
            Node = node;
            Current = device;
        }
    }
}

[Collection("Cluster")]
public sealed class ClusterFailureTests(BrokerCluster cluster) : ClusterFailureContract(cluster), IClassFixture<BrokerCluster>;

/// <summary>The same on MongoDB (runs when MONGODB_URI is set).</summary>
[Collection("Cluster")]
[Trait("Category", "MongoDB")]
public sealed class MongoClusterFailureTests(MongoBrokerCluster cluster) : ClusterFailureContract(cluster), IClassFixture<MongoBrokerCluster>;
