using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.Bench;

/// <summary>
/// group (MqttIm only). Small group: every member online on <c>inbox/{user}</c>, a few members publish QoS 1 to
/// <c>im/group/{id}</c>, every member gets the full message. Large group: a share of the members online; they get merged
/// hints and pull with <c>im/rpc/sync</c>. Groups are created through the admin HTTP API; the creation event is seq 1.
/// </summary>
public static class GroupScenario
{
    private const int MaxMessagesPerRun = 1_000_000;

    public static async Task RunAsync(string brokerDll, BenchOptions o, Action<ResultRow> emit)
    {
        try
        {
            await SmallAsync(brokerDll, o, emit).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            emit(ResultRow.Skipped("group", "MqttIm", Fmt.Inv($"{o.GroupSmallMembers} members, all online"), "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
            Log.Info(ex.ToString());
        }

        try
        {
            await LargeAsync(brokerDll, o, emit).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            emit(ResultRow.Skipped("group", "MqttIm", Fmt.Inv($"{o.GroupLargeMembers:N0} members, {o.GroupLargeOnline:N0} online"), "FAILED: " + ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
            Log.Info(ex.ToString());
        }
    }

    private static async Task CreateGroupAsync(MqttImBroker broker, string groupId, int members)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{broker.HttpPort}/api/admin/groups"))
        {
            Content = JsonContent.Create(new { groupId, name = groupId, ownerId = "u0", memberIds = Enumerable.Range(0, members).Select(i => $"u{i}").ToArray() }),
        };
        request.Headers.Add("X-Admin-Key", broker.AdminKey);
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating group {groupId} failed: {(int)response.StatusCode} {body}");
        }

        using var doc = JsonDocument.Parse(body);
        var count = doc.RootElement.TryGetProperty("memberCount", out var mc) ? mc.GetInt32() : -1;
        if (count != members)
        {
            throw new InvalidOperationException($"group {groupId} has {count} members, expected {members}: {body}");
        }
    }

    private static MqttApplicationMessage SendMessage(string groupId, string runId, long index, out long sentAt)
    {
        sentAt = Stopwatch.GetTimestamp();
        return new MqttApplicationMessage
        {
            Topic = $"im/group/{groupId}",
            PayloadSegment = Encoding.UTF8.GetBytes(
                $"{{\"text\":\"ts={sentAt.ToString(CultureInfo.InvariantCulture)} i={index.ToString(CultureInfo.InvariantCulture)} group bench\",\"clientMsgId\":\"{runId}-{index.ToString(CultureInfo.InvariantCulture)}\"}}"),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            ContentType = "application/json",
        };
    }

    /// <summary>Reads "ts=… i=… " from a bench message text.</summary>
    private static (long SentAt, long Index) ParseText(string text)
    {
        long sentAt = 0, index = -1;
        foreach (var part in text.Split(' ', 3))
        {
            if (part.StartsWith("ts=", StringComparison.Ordinal))
            {
                _ = long.TryParse(part.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out sentAt);
            }
            else if (part.StartsWith("i=", StringComparison.Ordinal))
            {
                _ = long.TryParse(part.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out index);
            }
        }

        return (sentAt, index);
    }

    private static long ReadLong(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();

    // ---------------------------------------------------------------- small group: full messages pushed

    private sealed class SmallMember
    {
        public readonly Lock Gate = new();
        public long First = -1;
        public long Last;
        public long Count;
        public long Gaps;
        public long Duplicates;
    }

    private sealed class SmallRun(int members, RunClock clock)
    {
        public readonly RunClock Clock = clock;
        public readonly int Members = members;
        public readonly int[] DeliveriesPerIndex = new int[MaxMessagesPerRun];
        public readonly LatencyHistogram EndToEnd = new();
        public readonly SemaphoreSlim Credits = new(0);
        public long Measured;
        public long Delivered;
    }

    private static SmallRun? _smallRun;

    private static Task OnSmallMember(SmallMember m, MqttApplicationMessageReceivedEventArgs args)
    {
        var now = Stopwatch.GetTimestamp();
        if (!InboxJson.TryReadMessage(args.ApplicationMessage.Payload, out _, out var seq, out var text))
        {
            return Task.CompletedTask;
        }

        lock (m.Gate)
        {
            if (m.First < 0)
            {
                m.First = seq;
                m.Last = seq;
                m.Count = 1;
            }
            else if (seq == m.Last + 1)
            {
                m.Last = seq;
                m.Count++;
            }
            else if (seq <= m.Last)
            {
                m.Duplicates++;
                return Task.CompletedTask;
            }
            else
            {
                m.Gaps++;
                m.Last = seq;
                m.Count++;
            }
        }

        var (sentAt, index) = ParseText(text);
        if (_smallRun is { } run && index >= 0 && index < MaxMessagesPerRun)
        {
            Interlocked.Increment(ref run.Delivered);
            if (run.Clock.InWindow(now) && sentAt > 0)
            {
                run.EndToEnd.RecordTicks(now - sentAt);
                Interlocked.Increment(ref run.Measured);
            }

            if (Interlocked.Increment(ref run.DeliveriesPerIndex[index]) == run.Members)
            {
                run.Credits.Release();
            }
        }

        return Task.CompletedTask;
    }

    private static async Task SmallAsync(string brokerDll, BenchOptions o, Action<ResultRow> emit)
    {
        const string groupId = "g500";
        var n = o.GroupSmallMembers;
        await using var broker = await MqttImBroker.StartAsync(brokerDll).ConfigureAwait(false);
        var members = Enumerable.Range(0, n).Select(_ => new SmallMember()).ToArray();
        var connectWatch = Stopwatch.StartNew();
        var phones = await Clients.ConnectManyAsync(broker, n, 100, i => ($"u{i}", $"u{i}-phone", $"inbox/u{i}"),
            i => args => OnSmallMember(members[i], args), TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        // Separate sending devices (not on the inbox): every member's phone then gets every message, the senders' too.
        var senders = await Clients.ConnectManyAsync(broker, o.GroupSenders, o.GroupSenders, k => ($"u{k}", $"u{k}-bot", null), null, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        try
        {
            await CreateGroupAsync(broker, groupId, n).ConfigureAwait(false);
            // The creation event (seq 1) reaches every online member.
            await RelayScenario.DrainAsync(() => members.Count(m => Interlocked.Read(ref m.Last) < 1), TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            Log.Info(Fmt.Inv($"  group {groupId}: {n} members connected and group created in {connectWatch.Elapsed.TotalSeconds:F1} s"));

            long acceptedTotal = 0;
            foreach (var rate in new double?[] { o.GroupSmallRate, null })
            {
                var (row, accepted) = await SmallRunAsync(broker, groupId, n, senders, rate, o).ConfigureAwait(false);
                acceptedTotal += accepted;
                emit(row);
            }

            var expected = 1 + acceptedTotal;
            var bad = members.Count(m => m.First != 1 || m.Last != expected || m.Count != expected || m.Gaps > 0);
            var duplicates = members.Sum(m => m.Duplicates);
            var check = bad == 0
                ? Fmt.Inv($"lost 0: all {n} members got seqs 1..{expected:N0} contiguous (creation event + {acceptedTotal:N0} acked messages); {duplicates} duplicate deliveries")
                : Fmt.Inv($"LOSS/GAP: {bad} of {n} members did not get 1..{expected:N0} contiguous (e.g. first {members.First(m => m.First != 1 || m.Last != expected || m.Count != expected || m.Gaps > 0).First}, last {members.First(m => m.First != 1 || m.Last != expected || m.Count != expected || m.Gaps > 0).Last}); {members.Sum(m => m.Gaps)} gaps");
            Log.Info($"  group {groupId}: {check}");
            emit(new ResultRow("group", broker.Name, Fmt.Inv($"{n} members all online: end-of-run check over both runs"), "–", "–", "–", "–", check, double.NaN, double.NaN, 0, broker.ResidentBytes()));
        }
        finally
        {
            _smallRun = null;
            await broker.DisposeAsync().ConfigureAwait(false);
            await Clients.DisposeAllAsync([.. senders, .. phones], disconnect: false).ConfigureAwait(false);
        }
    }

    private static async Task<(ResultRow Row, long Accepted)> SmallRunAsync(MqttImBroker broker, string groupId, int n, IMqttClient[] senders, double? rate, BenchOptions o)
    {
        var clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
        var run = new SmallRun(n, clock);
        run.Credits.Release(o.GroupWindow);
        _smallRun = run;
        var ackLatency = new LatencyHistogram();
        long nextIndex = -1, accepted = 0, measuredAccepts = 0, rejected = 0, stalls = 0;
        string? firstRejection = null;
        var stop = 0;
        var runId = Guid.NewGuid().ToString("N")[..8];
        var workers = senders.Select(client => Task.Run(async () =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                if (!await run.Credits.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref stalls);
                    continue;
                }

                var index = Interlocked.Increment(ref nextIndex);
                if (index >= MaxMessagesPerRun)
                {
                    break;
                }

                if (rate is { } r)
                {
                    await RunClock.DelayUntil(clock.Start + (long)(index * Stopwatch.Frequency / r)).ConfigureAwait(false);
                }

                var message = SendMessage(groupId, runId, index, out var sentAt);
                try
                {
                    var result = await client.PublishAsync(message).ConfigureAwait(false);
                    var now = Stopwatch.GetTimestamp();
                    if (result.ReasonCode == MqttClientPublishReasonCode.Success)
                    {
                        Interlocked.Increment(ref accepted);
                        if (clock.InWindow(now))
                        {
                            Interlocked.Increment(ref measuredAccepts);
                            ackLatency.RecordTicks(now - sentAt);
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref rejected);
                        firstRejection ??= $"{result.ReasonCode} {result.ReasonString}";
                        run.Credits.Release();
                    }
                }
                catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
                {
                    Interlocked.Increment(ref rejected);
                    firstRejection ??= ex.Message;
                    run.Credits.Release();
                }
            }
        })).ToArray();

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(workers).ConfigureAwait(false);
        await RelayScenario.DrainAsync(() => Interlocked.Read(ref accepted) * n - Interlocked.Read(ref run.Delivered), TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        var lost = Interlocked.Read(ref accepted) * n - Interlocked.Read(ref run.Delivered);
        var msgs = measuredAccepts / clock.MeasureSeconds;
        var deliveries = Interlocked.Read(ref run.Measured) / clock.MeasureSeconds;
        var settings = Fmt.Inv($"{n} members all online (full message pushed), {senders.Length} sending members, QoS 1 JSON, {(rate is { } rr ? $"offered {rr:N0} msg/s" : "flat out")}, ≤ {o.GroupWindow} msgs not yet delivered to all");
        var notes = Fmt.Inv($"{deliveries:N0} deliveries/s; broker {RelayScenario.PerMessage(cpu.BrokerCpu, measuredAccepts)}/msg, {RelayScenario.PerMessage(cpu.BrokerCpu, run.Measured)}/delivery; PUBACK p50/p99 {Fmt.Ms(ackLatency.Percentile(50))}/{Fmt.Ms(ackLatency.Percentile(99))}; lost {lost}");
        if (rejected > 0)
        {
            notes += Fmt.Inv($"; {rejected} rejected ({firstRejection})");
        }

        if (stalls > 0)
        {
            notes += Fmt.Inv($"; {stalls} stalls");
        }

        var e2e = run.EndToEnd;
        var row = new ResultRow("group", broker.Name, settings, Fmt.Rate(msgs, "msg/s"),
            Fmt.Ms(e2e.Percentile(50)), Fmt.Ms(e2e.Percentile(99)), Fmt.Ms(e2e.MaxMicros), notes,
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = msgs, Secondary = deliveries, OtherCpuSeconds = cpu.OtherCpu };
        return (row, Interlocked.Read(ref accepted));
    }

    // ---------------------------------------------------------------- large group: hints + sync

    private sealed class LargeMember(int index)
    {
        public readonly string UserId = $"u{index}";
        public readonly Lock Gate = new();
        public IMqttClient? Client;
        public long Held = 1; // the creation event (seq 1) is held from the start: its text lists all members
        public long KnownMax;
        public bool SyncInFlight;
        public long SyncSentAt;
        public long Gaps;
        public long Duplicates;
        public long Requests;
    }

    private sealed class LargeRun(RunClock clock)
    {
        public readonly RunClock Clock = clock;
        public readonly LatencyHistogram Converged = new();
        public long SyncResponses;
        public long Pulled;
        public long Hints;
    }

    private static LargeRun? _largeRun;
    private static string _largeConversation = "";

    private static void StartSync(LargeMember m)
    {
        long cursor;
        lock (m.Gate)
        {
            if (m.SyncInFlight || m.Client is null)
            {
                return;
            }

            m.SyncInFlight = true;
            m.SyncSentAt = Stopwatch.GetTimestamp();
            m.Requests++;
            cursor = m.Held;
        }

        var conversation = _largeConversation;
        var request = new MqttApplicationMessage
        {
            Topic = "im/rpc/sync",
            PayloadSegment = Encoding.UTF8.GetBytes(
                $"{{\"requestId\":\"r\",\"conversationIds\":[\"{conversation}\"],\"cursors\":{{\"{conversation}\":\"{cursor.ToString(CultureInfo.InvariantCulture)}\"}}}}"),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            ContentType = "application/json",
            ResponseTopic = $"inbox/{m.UserId}/rpc",
            CorrelationData = Encoding.UTF8.GetBytes(m.Requests.ToString(CultureInfo.InvariantCulture)),
        };
        // Never awaited inside a message handler: the client reads the PUBACK on the loop that runs the handler.
        _ = m.Client!.PublishAsync(request).ContinueWith(t =>
        {
            if (t.IsFaulted || t.IsCanceled || !t.Result.IsSuccess)
            {
                lock (m.Gate)
                {
                    m.SyncInFlight = false;
                }
            }
        }, TaskScheduler.Default);
    }

    private static Task OnLargeMember(LargeMember m, MqttApplicationMessageReceivedEventArgs args)
    {
        var now = Stopwatch.GetTimestamp();
        var message = args.ApplicationMessage;
        using var doc = JsonDocument.Parse(message.Payload);
        var root = doc.RootElement;
        var run = _largeRun;
        if (message.Topic.EndsWith("/rpc", StringComparison.Ordinal))
        {
            if (!root.TryGetProperty("sync", out var sync))
            {
                lock (m.Gate)
                {
                    m.SyncInFlight = false;
                }

                return Task.CompletedTask;
            }

            var again = sync.TryGetProperty("hasMore", out var hm) && hm.GetBoolean();
            long pulled = 0;
            lock (m.Gate)
            {
                if (sync.TryGetProperty("conversations", out var conversations))
                {
                    foreach (var c in conversations.EnumerateArray())
                    {
                        if (c.GetProperty("conversationId").GetString() != _largeConversation)
                        {
                            continue;
                        }

                        if (c.TryGetProperty("maxSeq", out var ms))
                        {
                            m.KnownMax = Math.Max(m.KnownMax, ReadLong(ms));
                        }

                        if (c.TryGetProperty("messages", out var messages))
                        {
                            foreach (var msg in messages.EnumerateArray())
                            {
                                var seq = ReadLong(msg.GetProperty("seq"));
                                if (seq <= m.Held)
                                {
                                    m.Duplicates++;
                                    continue;
                                }

                                if (seq != m.Held + 1)
                                {
                                    m.Gaps++;
                                }

                                m.Held = seq;
                                pulled++;
                                if (run is not null && run.Clock.InWindow(now) && msg.TryGetProperty("text", out var text))
                                {
                                    var (sentAt, _) = ParseText(text.GetString() ?? "");
                                    if (sentAt > 0)
                                    {
                                        run.Converged.RecordTicks(now - sentAt);
                                    }
                                }
                            }
                        }

                        again |= c.TryGetProperty("hasMore", out var chm) && chm.GetBoolean();
                    }
                }

                again |= m.KnownMax > m.Held;
                m.SyncInFlight = false;
            }

            if (run is not null && run.Clock.InWindow(now))
            {
                Interlocked.Increment(ref run.SyncResponses);
                Interlocked.Add(ref run.Pulled, pulled);
            }

            if (again)
            {
                StartSync(m);
            }

            return Task.CompletedTask;
        }

        if (root.TryGetProperty("hint", out var hint) && hint.TryGetProperty("maxSeq", out var max))
        {
            bool pull;
            lock (m.Gate)
            {
                m.KnownMax = Math.Max(m.KnownMax, ReadLong(max));
                pull = m.KnownMax > m.Held;
            }

            if (run is not null && run.Clock.InWindow(now))
            {
                Interlocked.Increment(ref run.Hints);
            }

            if (pull)
            {
                StartSync(m);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Waits (bounded) until every member holds <paramref name="target"/>; re-asks members whose sync went unanswered.</summary>
    private static async Task<double> ConvergeAsync(LargeMember[] members, long target, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            var behind = 0;
            foreach (var m in members)
            {
                bool resync;
                lock (m.Gate)
                {
                    if (m.Held >= target)
                    {
                        continue;
                    }

                    behind++;
                    m.KnownMax = Math.Max(m.KnownMax, target);
                    resync = !m.SyncInFlight || Stopwatch.GetElapsedTime(m.SyncSentAt) > TimeSpan.FromSeconds(10);
                    if (resync)
                    {
                        m.SyncInFlight = false;
                    }
                }

                if (resync && watch.Elapsed > TimeSpan.FromSeconds(1))
                {
                    StartSync(m);
                }
            }

            if (behind == 0)
            {
                return watch.Elapsed.TotalSeconds;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        return double.NaN;
    }

    private static async Task LargeAsync(string brokerDll, BenchOptions o, Action<ResultRow> emit)
    {
        const string groupId = "g20k";
        _largeConversation = $"group:{groupId}";
        var total = o.GroupLargeMembers;
        var online = o.GroupLargeOnline;
        await using var broker = await MqttImBroker.StartAsync(brokerDll).ConfigureAwait(false);
        var members = Enumerable.Range(0, online).Select(i => new LargeMember(i)).ToArray();
        var connectWatch = Stopwatch.StartNew();
        var phones = await Clients.ConnectManyAsync(broker, online, 100, i => ($"u{i}", $"u{i}-phone", $"inbox/u{i}"),
            i => args => OnLargeMember(members[i], args), TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        var senders = Array.Empty<IMqttClient>();
        try
        {
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, online), new ParallelOptions { MaxDegreeOfParallelism = 50, CancellationToken = cts.Token }, async (i, ct) =>
                {
                    await phones[i].SubscribeAsync($"inbox/u{i}/rpc", MqttQualityOfServiceLevel.AtLeastOnce, ct).ConfigureAwait(false);
                    members[i].Client = phones[i];
                }).ConfigureAwait(false);
            }

            senders = await Clients.ConnectManyAsync(broker, o.GroupSenders, o.GroupSenders, k => ($"u{k}", $"u{k}-bot", null), null, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            await CreateGroupAsync(broker, groupId, total).ConfigureAwait(false);
            Log.Info(Fmt.Inv($"  group {groupId}: {online:N0} of {total:N0} members online, group created in {connectWatch.Elapsed.TotalSeconds:F1} s"));

            long acceptedTotal = 0;
            foreach (var rate in new double?[] { o.GroupLargeRate, null })
            {
                var (row, accepted) = await LargeRunAsync(broker, members, senders, total, rate, 1 + acceptedTotal, o).ConfigureAwait(false);
                acceptedTotal += accepted;
                emit(row);
            }

            var expected = 1 + acceptedTotal;
            var behind = members.Count(m => m.Held != expected);
            var gaps = members.Sum(m => m.Gaps);
            var requests = members.Sum(m => m.Requests);
            var check = behind == 0 && gaps == 0
                ? Fmt.Inv($"lost 0: all {online:N0} online members converged to max seq {expected:N0} (creation event + {acceptedTotal:N0} acked messages) with no gaps; {requests:N0} sync RPCs in all, {members.Sum(m => m.Duplicates)} duplicates")
                : Fmt.Inv($"LOSS/GAP: {behind} of {online:N0} members not at max seq {expected:N0} (lowest {members.Min(m => m.Held)}); {gaps} gaps");
            Log.Info($"  group {groupId}: {check}");
            emit(new ResultRow("group", broker.Name, Fmt.Inv($"{total:N0} members, {online:N0} online: end-of-run check over both runs"), "–", "–", "–", "–", check, double.NaN, double.NaN, 0, broker.ResidentBytes()));
        }
        finally
        {
            _largeRun = null;
            await broker.DisposeAsync().ConfigureAwait(false);
            await Clients.DisposeAllAsync([.. senders, .. phones], disconnect: false).ConfigureAwait(false);
        }
    }

    private static async Task<(ResultRow Row, long Accepted)> LargeRunAsync(
        MqttImBroker broker, LargeMember[] members, IMqttClient[] senders, int total, double? rate, long seqBefore, BenchOptions o)
    {
        var clock = new RunClock(o.WarmupSeconds, o.MeasureSeconds);
        var run = new LargeRun(clock);
        _largeRun = run;
        var ackLatency = new LatencyHistogram();
        long nextIndex = -1, accepted = 0, measuredAccepts = 0, rejected = 0;
        string? firstRejection = null;
        var stop = 0;
        var runId = Guid.NewGuid().ToString("N")[..8];
        // Two publishes in flight per sending device; a rate run paces them from the start of the run.
        var workers = senders.SelectMany(client => Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                var index = Interlocked.Increment(ref nextIndex);
                if (index >= MaxMessagesPerRun)
                {
                    break;
                }

                if (rate is { } r)
                {
                    await RunClock.DelayUntil(clock.Start + (long)(index * Stopwatch.Frequency / r)).ConfigureAwait(false);
                    if (Volatile.Read(ref stop) != 0)
                    {
                        break;
                    }
                }

                var message = SendMessage("g20k", runId, index, out var sentAt);
                try
                {
                    var result = await client.PublishAsync(message).ConfigureAwait(false);
                    var now = Stopwatch.GetTimestamp();
                    if (result.ReasonCode == MqttClientPublishReasonCode.Success)
                    {
                        Interlocked.Increment(ref accepted);
                        if (clock.InWindow(now))
                        {
                            Interlocked.Increment(ref measuredAccepts);
                            ackLatency.RecordTicks(now - sentAt);
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref rejected);
                        firstRejection ??= $"{result.ReasonCode} {result.ReasonString}";
                    }
                }
                catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
                {
                    Interlocked.Increment(ref rejected);
                    firstRejection ??= ex.Message;
                }
            }
        }))).ToArray();

        var cpu = await clock.MeasureCpuAsync(broker).ConfigureAwait(false);
        var rss = broker.ResidentBytes();
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(workers).ConfigureAwait(false);
        var target = seqBefore + Interlocked.Read(ref accepted);
        var convergeSeconds = await ConvergeAsync(members, target, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var behind = members.Count(m => Interlocked.Read(ref m.Held) < target);
        var msgs = measuredAccepts / clock.MeasureSeconds;
        var online = members.Length;
        var settings = Fmt.Inv($"{total:N0} members, {online:N0} online (hints every 100 ms + sync pull), {senders.Length} sending members × 2 in flight, QoS 1 JSON, {(rate is { } rr ? $"offered {rr:N0} msg/s" : "flat out")}");
        var notes = Fmt.Inv($"latency = publish → member holds it after its pull; {run.SyncResponses / clock.MeasureSeconds:N0} sync RPCs/s served, {run.Pulled / clock.MeasureSeconds:N0} msgs/s pulled, {run.Hints / clock.MeasureSeconds:N0} hints/s; broker {RelayScenario.PerMessage(cpu.BrokerCpu, measuredAccepts)}/msg; PUBACK p50/p99 {Fmt.Ms(ackLatency.Percentile(50))}/{Fmt.Ms(ackLatency.Percentile(99))}; ");
        notes += double.IsNaN(convergeSeconds)
            ? Fmt.Inv($"NOT converged 60 s after the run: {behind} members behind seq {target:N0}")
            : Fmt.Inv($"all {online:N0} at seq {target:N0} {convergeSeconds:F1} s after the last publish");
        if (rejected > 0)
        {
            notes += Fmt.Inv($"; {rejected} rejected ({firstRejection})");
        }

        var c = run.Converged;
        var row = new ResultRow("group", broker.Name, settings, Fmt.Rate(msgs, "msg/s"),
            Fmt.Ms(c.Percentile(50)), Fmt.Ms(c.Percentile(99)), Fmt.Ms(c.MaxMicros), notes,
            cpu.BrokerCpu, cpu.SelfCpu, cpu.Seconds, rss)
        { Value = msgs, Secondary = run.SyncResponses / clock.MeasureSeconds, OtherCpuSeconds = cpu.OtherCpu };
        return (row, Interlocked.Read(ref accepted));
    }
}
