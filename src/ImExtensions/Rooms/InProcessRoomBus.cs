using System.Collections.Concurrent;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Rooms.Store;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>Single node: envelopes go straight to the local viewer index; the seq continues from the replay store after a restart.</summary>
internal sealed class InProcessRoomBus(RoomDirectory directory, IRoomStore store) : IRoomBus
{
    private readonly ConcurrentDictionary<string, Lazy<Task<RoomCounters>>> _counters = new(StringComparer.Ordinal);

    public async Task<long> PublishReliableAsync(string roomId, RoomMessage message, CancellationToken cancellationToken)
    {
        var counters = await CountersAsync(roomId).ConfigureAwait(false);
        lock (counters)
        {
            // Seq and hand-over under one lock: frames see gifts in seq order.
            message.Seq = ++counters.Seq;
            directory.Deliver(new RoomEnvelope { RoomId = roomId, Message = message });
            return message.Seq;
        }
    }

    public async Task PublishAsync(RoomEnvelope envelope, CancellationToken cancellationToken)
    {
        if (envelope.Likes > 0)
        {
            var counters = await CountersAsync(envelope.RoomId).ConfigureAwait(false);
            envelope.LikesTotal = Interlocked.Add(ref counters.Likes, envelope.Likes);
        }

        directory.Deliver(envelope);
    }

    public async Task<long> CurrentSeqAsync(string roomId, CancellationToken cancellationToken)
    {
        var counters = await CountersAsync(roomId).ConfigureAwait(false);
        lock (counters)
        {
            return counters.Seq;
        }
    }

    public Task<long> CountViewersAsync(string roomId, CancellationToken cancellationToken) =>
        Task.FromResult<long>(directory.Find(roomId)?.Count ?? 0);

    private Task<RoomCounters> CountersAsync(string roomId)
    {
        var lazy = _counters.GetOrAdd(roomId, id => new Lazy<Task<RoomCounters>>(async () =>
            new RoomCounters { Seq = await store.GetMaxSeqAsync(id, CancellationToken.None).ConfigureAwait(false) }));
        if (lazy.Value.IsFaulted)
        {
            _counters.TryRemove(new KeyValuePair<string, Lazy<Task<RoomCounters>>>(roomId, lazy));
        }

        return lazy.Value;
    }

    private sealed class RoomCounters
    {
        public long Seq;
        public long Likes;
    }
}
