using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// Carries room envelopes to every node that has viewers of the room, this one included (in-process on a single node,
/// Redis pub/sub in a cluster), and numbers gifts and system messages with the room seq in the order they are carried.
/// </summary>
internal interface IRoomBus
{
    /// <summary>Gives the message the room's next seq and carries it; returns the seq.</summary>
    Task<long> PublishReliableAsync(string roomId, RoomMessage message, CancellationToken cancellationToken);

    /// <summary>Carries chat, aggregated likes (the bus fills <c>likes_total</c>) and moderation controls.</summary>
    Task PublishAsync(RoomEnvelope envelope, CancellationToken cancellationToken);

    /// <summary>The room's highest seq handed out so far.</summary>
    Task<long> CurrentSeqAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Viewers of the room on all nodes.</summary>
    Task<long> CountViewersAsync(string roomId, CancellationToken cancellationToken);
}
