using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>Likes sent on this node, summed per room until the frame pump carries them on as one envelope per window.</summary>
internal sealed class RoomLikeCounter
{
    private readonly ConcurrentDictionary<string, long> _pending = new(StringComparer.Ordinal);

    public void Add(string roomId, int likes) => _pending.AddOrUpdate(roomId, likes, (_, sum) => sum + likes);

    public List<(string RoomId, long Likes)> Drain()
    {
        var drained = new List<(string, long)>();
        foreach (var roomId in _pending.Keys)
        {
            if (_pending.TryRemove(roomId, out var likes) && likes > 0)
            {
                drained.Add((roomId, likes));
            }
        }

        return drained;
    }
}
