using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Rooms.Store;
using StackExchange.Redis;
using ClusterNode = MqttIm.ImExtensions.Cluster.ClusterNode;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// Cluster bus: a node subscribes to a room's Redis channel only while it has local viewers of the room, so a room
/// message crosses Redis once per node with viewers (the sending node included, which keeps one order everywhere).
/// Gifts get their seq and are published in one Lua call, so the channel carries them in seq order. Viewer counts:
/// a hash per room (node → count and time), refreshed every second; fields older than <see cref="StaleAfter"/> are ignored.
/// </summary>
internal sealed class RedisRoomBus : BackgroundService, IRoomBus
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(10);

    // INCR the seq (never below what the store holds), then PUBLISH "seq:envelope" in the same atomic step.
    private const string SeqAndPublish = """
        local s = redis.call('INCR', KEYS[1])
        local floor = tonumber(ARGV[2])
        if s <= floor then s = floor + 1; redis.call('SET', KEYS[1], s) end
        local n = redis.call('PUBLISH', KEYS[2], s .. ':' .. ARGV[1])
        return {s, n}
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly ClusterNode _node;
    private readonly RoomDirectory _directory;
    private readonly IRoomStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisRoomBus> _logger;
    private readonly ConcurrentDictionary<string, ChannelMessageQueue> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<long>>> _seqFloors = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _changed = new(0);

    public RedisRoomBus(IConnectionMultiplexer redis, RedisKeys keys, ClusterNode node, RoomDirectory directory, IRoomStore store,
        TimeProvider time, ILogger<RedisRoomBus> logger)
    {
        _redis = redis;
        _keys = keys;
        _node = node;
        _directory = directory;
        _store = store;
        _time = time;
        _logger = logger;
        directory.RoomActivityChanged += _ => _changed.Release();
    }

    public async Task<long> PublishReliableAsync(string roomId, RoomMessage message, CancellationToken cancellationToken)
    {
        var floor = await SeqFloorAsync(roomId).ConfigureAwait(false);
        var envelope = new RoomEnvelope { RoomId = roomId, Message = message, OriginNode = _node.NodeId };
        var result = (RedisResult[])(await _redis.GetDatabase().ScriptEvaluateAsync(SeqAndPublish,
            new RedisKey[] { _keys.RoomSeq(roomId), _keys.RoomChannel(roomId) },
            new RedisValue[] { envelope.ToByteArray(), floor }).ConfigureAwait(false))!;
        message.Seq = (long)result[0];
        Published((long)result[1]);
        return message.Seq;
    }

    public async Task PublishAsync(RoomEnvelope envelope, CancellationToken cancellationToken)
    {
        var db = _redis.GetDatabase();
        if (envelope.Likes > 0)
        {
            envelope.LikesTotal = await db.StringIncrementAsync(_keys.RoomLikes(envelope.RoomId), envelope.Likes).ConfigureAwait(false);
        }

        envelope.OriginNode = _node.NodeId;
        var bytes = envelope.ToByteArray();
        var payload = new byte[bytes.Length + 2];
        payload[0] = (byte)'0';
        payload[1] = (byte)':';
        bytes.CopyTo(payload, 2);
        Published(await db.PublishAsync(RedisChannel.Literal(_keys.RoomChannel(envelope.RoomId)), payload).ConfigureAwait(false));
    }

    public async Task<long> CurrentSeqAsync(string roomId, CancellationToken cancellationToken)
    {
        var value = await _redis.GetDatabase().StringGetAsync(_keys.RoomSeq(roomId)).ConfigureAwait(false);
        var floor = await SeqFloorAsync(roomId).ConfigureAwait(false);
        return Math.Max(value.HasValue ? (long)value : 0, floor);
    }

    public async Task<long> CountViewersAsync(string roomId, CancellationToken cancellationToken)
    {
        var fields = await _redis.GetDatabase().HashGetAllAsync(_keys.RoomViewers(roomId)).ConfigureAwait(false);
        var freshSince = _time.GetUtcNow().Add(-StaleAfter).ToUnixTimeMilliseconds();
        long total = 0;
        foreach (var field in fields)
        {
            var text = field.Value.ToString();
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && long.TryParse(text.AsSpan(colon + 1), CultureInfo.InvariantCulture, out var at) && at >= freshSince
                && long.TryParse(text.AsSpan(0, colon), CultureInfo.InvariantCulture, out var count))
            {
                total += count;
            }
        }

        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReconcileAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogWarning(ex, "Room subscriptions or viewer counts could not be updated in Redis; retrying");
            }

            // Woken early when a room gains its first or loses its last viewer here.
            await _changed.WaitAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Subscribes to rooms that gained local viewers, unsubscribes from the rest, and publishes this node's counts.</summary>
    private async Task ReconcileAsync()
    {
        var db = _redis.GetDatabase();
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var room in _directory.Rooms)
        {
            if (room.Count > 0 && !_subscriptions.ContainsKey(room.RoomId))
            {
                var queue = await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(_keys.RoomChannel(room.RoomId))).ConfigureAwait(false);
                queue.OnMessage(OnEnvelope);
                _subscriptions[room.RoomId] = queue;
            }
        }

        foreach (var (roomId, queue) in _subscriptions)
        {
            var room = _directory.Find(roomId);
            if (room is null || room.Count == 0)
            {
                _subscriptions.TryRemove(roomId, out _);
                await queue.UnsubscribeAsync().ConfigureAwait(false);
                await db.HashDeleteAsync(_keys.RoomViewers(roomId), _node.NodeId).ConfigureAwait(false);
                continue;
            }

            var key = _keys.RoomViewers(roomId);
            await db.HashSetAsync(key, _node.NodeId, string.Create(CultureInfo.InvariantCulture, $"{room.Count}:{nowMs}")).ConfigureAwait(false);
            await db.KeyExpireAsync(key, TimeSpan.FromMinutes(1)).ConfigureAwait(false);
            room.TotalViewers = await CountViewersAsync(roomId, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private void OnEnvelope(ChannelMessage message)
    {
        try
        {
            var payload = (byte[])message.Message!;
            var colon = Array.IndexOf(payload, (byte)':');
            var seq = long.Parse(Encoding.ASCII.GetString(payload, 0, colon), CultureInfo.InvariantCulture);
            var envelope = RoomEnvelope.Parser.ParseFrom(payload, colon + 1, payload.Length - colon - 1);
            if (seq > 0 && envelope.Message is { } roomMessage)
            {
                roomMessage.Seq = seq;
            }

            RoomMetrics.BusReceived.Inc();
            _directory.Deliver(envelope);
        }
        catch (Exception ex) when (ex is FormatException or InvalidProtocolBufferException or ArgumentException or InvalidCastException)
        {
            _logger.LogWarning(ex, "Ignored a malformed room envelope on {Channel}", message.Channel);
        }
    }

    private static void Published(long copies)
    {
        RoomMetrics.BusPublishes.Inc();
        RoomMetrics.BusCopies.Inc(copies);
    }

    private Task<long> SeqFloorAsync(string roomId)
    {
        var lazy = _seqFloors.GetOrAdd(roomId, id => new Lazy<Task<long>>(() => _store.GetMaxSeqAsync(id, CancellationToken.None)));
        if (lazy.Value.IsFaulted)
        {
            _seqFloors.TryRemove(new KeyValuePair<string, Lazy<Task<long>>>(roomId, lazy));
        }

        return lazy.Value;
    }
}
