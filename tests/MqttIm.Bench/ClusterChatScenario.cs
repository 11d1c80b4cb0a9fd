using System.Diagnostics;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Bench;

/// <summary>
/// chat-cluster: the chat scenario across a 3-node cluster on this machine (private Redis + PostgreSQL, started like
/// the cluster tests do): sender k on node k mod 3, its receiver on the next node, so every message crosses nodes
/// (commit on one node, one Redis hop, delivery on another). Flat out, QoS 1 JSON. Reports PUBACKed msgs/s,
/// publish→inbox latency and the CPU of the three broker processes per message (Redis and PostgreSQL are "other").
/// </summary>
/// <remarks>
/// <c>--cluster-layouts</c> adds the same load (same connections, same window) on one node: on PostgreSQL without Redis
/// (<c>1pg</c>, what the shared store costs) and on the embedded SQLite (<c>1sqlite</c>). The cluster row's connections
/// each carry one commit at a time (MQTTnet handles a connection's PUBLISHes in turn), so its commits hold one or two
/// messages, unlike the <c>chat</c> row's 50 connections: only these rows compare like with like.
/// </remarks>
public static class ClusterChatScenario
{
    public static async Task RunAsync(BenchOptions o, Action<ResultRow> emit)
    {
        foreach (var layout in o.ClusterLayouts)
        {
            await RunLayoutAsync(o, layout, emit).ConfigureAwait(false);
        }
    }

    private static async Task RunLayoutAsync(BenchOptions o, string layout, Action<ResultRow> emit)
    {
        var deployment = new Deployment(layout);
        var clients = new List<IMqttClient>();
        try
        {
            // Inside the try: a deployment that fails to start still has its Redis, PostgreSQL and nodes stopped.
            await deployment.StartAsync().ConfigureAwait(false);
            var nodes = deployment.Nodes;
            var pairs = o.ChatPairs;
            var latency = new LatencyHistogram();
            RunClock? clock = null; // started once every client is connected
            long accepted = 0, rejected = 0, received = 0, acceptedTotal = 0;
            var senders = new IMqttClient[pairs];
            var runId = Guid.NewGuid().ToString("N")[..8];
            for (var k = 0; k < pairs; k++)
            {
                var receiverNode = nodes[(k + 1) % nodes.Count];
                var receiver = await ConnectAsync(receiverNode, $"cr{runId}{k}", $"inbox/cr{runId}{k}", args =>
                {
                    var now = Stopwatch.GetTimestamp();
                    if (InboxJson.TryReadMessage(args.ApplicationMessage.Payload, out _, out _, out var text))
                    {
                        Interlocked.Increment(ref received);
                        var sentAt = InboxJson.SentAt(text);
                        if (sentAt > 0 && clock?.InWindow(now) == true)
                        {
                            latency.RecordTicks(now - sentAt);
                        }
                    }

                    return Task.CompletedTask;
                }).ConfigureAwait(false);
                clients.Add(receiver);
                senders[k] = await ConnectAsync(nodes[k % nodes.Count], $"cs{runId}{k}", null, null).ConfigureAwait(false);
                clients.Add(senders[k]);
            }

            var stop = 0;
            long nextIndex = -1;
            var window = clock = new RunClock(o.ClusterWarmupSeconds, o.MeasureSeconds);
            var workers = new List<Task>();
            for (var k = 0; k < pairs; k++)
            {
                var client = senders[k];
                var topic = $"im/c2c/cr{runId}{k}";
                for (var w = 0; w < o.ChatWindow; w++)
                {
                    workers.Add(Task.Run(async () =>
                    {
                        while (Volatile.Read(ref stop) == 0)
                        {
                            var index = Interlocked.Increment(ref nextIndex);
                            var sentAt = Stopwatch.GetTimestamp();
                            var payload = Encoding.UTF8.GetBytes($"{{\"text\":\"ts={sentAt.ToString(CultureInfo.InvariantCulture)} bench\",\"clientMsgId\":\"{runId}-{index.ToString(CultureInfo.InvariantCulture)}\"}}");
                            try
                            {
                                var result = await client.PublishAsync(new MqttApplicationMessage
                                {
                                    Topic = topic,
                                    PayloadSegment = payload,
                                    QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                                    ContentType = "application/json",
                                }).ConfigureAwait(false);
                                if (result.ReasonCode == MqttClientPublishReasonCode.Success)
                                {
                                    Interlocked.Increment(ref acceptedTotal);
                                    if (window.InWindow(Stopwatch.GetTimestamp()))
                                    {
                                        Interlocked.Increment(ref accepted);
                                    }
                                }
                                else
                                {
                                    Interlocked.Increment(ref rejected);
                                }
                            }
                            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
                            {
                                Interlocked.Increment(ref rejected);
                            }
                        }
                    }));
                }
            }

            await RunClock.DelayUntil(window.MeasureFrom).ConfigureAwait(false);
            var pids = nodes.Select(n => n.ProcessId).ToArray();
            var brokerStart = pids.Sum(ProcInfo.CpuSeconds);
            var selfStart = ProcInfo.CpuSeconds(Environment.ProcessId);
            var machineStart = ProcInfo.MachineBusySeconds();
            await RunClock.DelayUntil(window.MeasureTo).ConfigureAwait(false);
            var brokerCpu = pids.Sum(ProcInfo.CpuSeconds) - brokerStart;
            var selfCpu = ProcInfo.CpuSeconds(Environment.ProcessId) - selfStart;
            var otherCpu = ProcInfo.MachineBusySeconds() - machineStart - brokerCpu - selfCpu;
            var rss = pids.Sum(ProcInfo.ResidentBytes);
            Volatile.Write(ref stop, 1);
            await Task.WhenAll(workers).ConfigureAwait(false);
            await RelayScenario.DrainAsync(() => Math.Max(0, Interlocked.Read(ref acceptedTotal) - Interlocked.Read(ref received)), TimeSpan.FromSeconds(10)).ConfigureAwait(false);

            var rate = accepted / window.MeasureSeconds;
            var notes = Fmt.Inv($"{deployment.CpuNote}: {RelayScenario.PerMessage(brokerCpu, accepted)}/msg in all; not delivered live within 10 s {Math.Max(0, acceptedTotal - received)}");
            if (rejected > 0)
            {
                notes += Fmt.Inv($"; {rejected} rejected");
            }

            emit(new ResultRow("chat-cluster", deployment.Broker, Fmt.Inv($"{pairs} pairs {deployment.Where}, QoS 1 JSON, flat out, {o.ChatWindow} in flight, {o.ClusterWarmupSeconds:F0} s warm-up"),
                Fmt.Rate(rate, "msg/s"), Fmt.Ms(latency.Percentile(50)), Fmt.Ms(latency.Percentile(99)), Fmt.Ms(latency.MaxMicros), notes,
                brokerCpu, selfCpu, window.MeasureSeconds, rss)
            { Value = rate, Secondary = latency.Percentile(99), OtherCpuSeconds = otherCpu });
        }
        finally
        {
            await Clients.DisposeAllAsync([.. clients], disconnect: false).ConfigureAwait(false);
            await deployment.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Where the row runs: the 3-node cluster (<c>3</c>), one node on PostgreSQL (<c>1pg</c>) or on SQLite (<c>1sqlite</c>).</summary>
    private sealed class Deployment(string layout) : IAsyncDisposable
    {
        private readonly BrokerCluster? _cluster = layout == "3" ? new BrokerCluster() : null;
        private readonly PostgresServer? _postgres = layout == "1pg" ? new PostgresServer() : null;
        private BrokerProcess? _single;

        public IReadOnlyList<BrokerProcess> Nodes => _cluster is not null ? _cluster.Nodes : [_single!];

        public string Broker => layout switch { "3" => "MqttIm×3", "1pg" => "MqttIm (PostgreSQL)", _ => "MqttIm (SQLite)" };

        public string Where => layout switch
        {
            "3" => "across 3 nodes (Redis + PostgreSQL)",
            "1pg" => "on one node (PostgreSQL, no Redis)",
            _ => "on one node (SQLite)",
        };

        public string CpuNote => layout switch
        {
            "3" => "3 broker processes; Redis + PostgreSQL in other CPU",
            "1pg" => "1 broker process; PostgreSQL in other CPU",
            _ => "1 broker process",
        };

        public async Task StartAsync()
        {
            if (_cluster is not null)
            {
                await _cluster.InitializeAsync().ConfigureAwait(false);
                return;
            }

            string[] args = ["--Moderation:PublishesPerSecond=0"];
            if (_postgres is not null)
            {
                await _postgres.InitializeAsync().ConfigureAwait(false);
                var connectionString = await _postgres.CreateDatabaseAsync().ConfigureAwait(false);
                args = [.. args, "--Storage:Provider=PostgreSQL", $"--Storage:PostgreSQL:ConnectionString={connectionString}"];
            }

            _single = await BrokerProcess.StartWithKeysAsync(BrokerKeys.Generate(), args).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            if (_cluster is not null)
            {
                await _cluster.DisposeAsync().ConfigureAwait(false);
            }

            if (_single is not null)
            {
                await _single.DisposeAsync().ConfigureAwait(false);
            }

            if (_postgres is not null)
            {
                await _postgres.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<IMqttClient> ConnectAsync(BrokerProcess node, string user, string? subscribeTopic, Func<MqttApplicationMessageReceivedEventArgs, Task>? onMessage)
    {
        var client = Clients.Create();
        if (onMessage is not null)
        {
            client.ApplicationMessageReceivedAsync += onMessage;
        }

        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", node.MqttPort)
            .WithClientId(user + "-phone")
            .WithCredentials(user, node.Token(user))
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanSession()
            .Build();
        var result = await client.ConnectAsync(options).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"connect of {user} refused: {result.ResultCode}");
        }

        if (subscribeTopic is not null)
        {
            await client.SubscribeAsync(subscribeTopic, MqttQualityOfServiceLevel.AtLeastOnce).ConfigureAwait(false);
        }

        return client;
    }
}
