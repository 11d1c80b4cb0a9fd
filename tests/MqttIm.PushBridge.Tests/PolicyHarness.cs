using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.PushBridge.Delivery;
using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Scheduling;
using MqttIm.PushBridge.Storage.Sqlite;
using MqttIm.PushBridge.Tokens;
using MqttIm.PushBridge.Vendors;

namespace MqttIm.PushBridge.Tests;

/// <summary>
/// The scheduler and sender over real SQLite stores, driven by a <see cref="FakeTimeProvider"/>, with recording channels
/// in place of the vendors (the vendor clients have their own tests against the fake vendor servers).
/// </summary>
internal sealed class PolicyHarness : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mqttim-push-policy-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly List<SqliteDatabase> _databases = [];

    public PolicyHarness(DateTimeOffset start, Action<PushOptions>? configure = null)
    {
        Time = new FakeTimeProvider(start);
        Options = new PushOptions { MergeWindow = TimeSpan.FromSeconds(3), RateLimitPerDevice = 0, MaxRetries = 2, RetryBaseDelay = TimeSpan.FromSeconds(1) };
        configure?.Invoke(Options);
        Apns = new RecordingChannel(PushVendors.Apns, VendorSetup.Bundle, Time);
        Fcm = new RecordingChannel(PushVendors.Fcm, VendorSetup.FcmApp, Time);
        Open();
    }

    public FakeTimeProvider Time { get; }

    public PushOptions Options { get; }

    public RecordingChannel Apns { get; }

    public RecordingChannel Fcm { get; }

    public int Badge { get; set; } = 1;

    public IPushTokenStore Tokens { get; private set; } = null!;

    public IPushOutcomeStore Outcomes { get; private set; } = null!;

    public SqlitePushJobStore Jobs { get; private set; } = null!;

    public OfflinePushScheduler Scheduler { get; private set; } = null!;

    /// <summary>Opens (again) the stores and a new scheduler on the same database file: a restart.</summary>
    public void Open()
    {
        var database = new SqliteDatabase(Path.Combine(_directory, "push.db"), fullSync: false);
        _databases.Add(database);
        Tokens = new SqlitePushTokenStore(database);
        Outcomes = new SqlitePushOutcomeStore(database);
        Jobs = new SqlitePushJobStore(database);
        var sender = new PushSender(Tokens, Outcomes, new PushChannelRegistry([Apns, Fcm]), new FixedBadge(this),
            new DeviceRateLimiter(Options.RateLimitPerDevice, Options.RateLimitWindow), Options, Time, NullLogger<PushSender>.Instance);
        Scheduler = new OfflinePushScheduler(Jobs, Tokens, Outcomes, sender, Options, Time, NullLogger<OfflinePushScheduler>.Instance,
            new MqttIm.ImExtensions.Cluster.ClusterNode(new MqttIm.ImExtensions.Cluster.ClusterOptions()));
    }

    public Task RegisterAsync(string user, string token, string vendor = PushVendors.Apns, string device = "phone", bool privacy = false, int preference = 0) =>
        Tokens.RegisterAsync(new PushToken(user, device, vendor, vendor == PushVendors.Apns ? VendorSetup.Bundle : VendorSetup.FcmApp, token, "production", "en",
            privacy, preference, 0), default);

    private int _messages;

    public OfflineMessage Message(string user, string from = "alice", string text = "hi", string? conversation = null, int priority = 1) =>
        new(user, $"m{Interlocked.Increment(ref _messages)}", conversation ?? $"c2c:{from}:{user}", from, "", from, text, priority, false);

    public async Task<OfflineMessage> AcceptAsync(OfflineMessage message)
    {
        await Scheduler.AcceptAsync(message, default);
        return message;
    }

    /// <summary>Moves the clock and sends whatever is due (waits for those sends).</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        await Scheduler.RunDueAsync(default);
    }

    public async ValueTask DisposeAsync()
    {
        _databases.ForEach(d => d.Dispose());
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        await Task.CompletedTask;
    }

    private sealed class FixedBadge(PolicyHarness harness) : IBadgeCounter
    {
        public Task<int> TotalUnreadAsync(string userId, CancellationToken cancellationToken) => Task.FromResult(harness.Badge);
    }
}

/// <summary>A vendor app that records what it is asked to send and answers from a script per token (default: delivered).</summary>
internal sealed class RecordingChannel(string vendor, string appId, TimeProvider time) : IPushChannel
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<VendorReply>> _scripts = new();

    public string Vendor => vendor;

    public string AppId => appId;

    public ConcurrentQueue<(PushNotification Notification, string Token, DateTimeOffset At)> Sent { get; } = new();

    public IReadOnlyList<(PushNotification Notification, string Token, DateTimeOffset At)> SentTo(string token) => Sent.Where(s => s.Token == token).ToList();

    public void Script(string token, params VendorReply[] replies)
    {
        var queue = _scripts.GetOrAdd(token, _ => new ConcurrentQueue<VendorReply>());
        foreach (var reply in replies)
        {
            queue.Enqueue(reply);
        }
    }

    public Task<IReadOnlyList<VendorReply>> SendAsync(PushNotification notification, IReadOnlyList<VendorTarget> targets, CancellationToken cancellationToken)
    {
        var replies = new List<VendorReply>();
        foreach (var target in targets)
        {
            Sent.Enqueue((notification, target.Token, time.GetUtcNow()));
            replies.Add(_scripts.TryGetValue(target.Token, out var queue) && queue.TryDequeue(out var reply) ? reply : VendorReply.Ok);
        }

        return Task.FromResult<IReadOnlyList<VendorReply>>(replies);
    }
}
