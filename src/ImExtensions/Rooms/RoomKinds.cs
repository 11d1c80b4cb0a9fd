namespace MqttIm.ImExtensions.Rooms;

/// <summary>The message classes of a room and their priority (docs/PROTOCOL.md#live-rooms).</summary>
internal static class RoomKinds
{
    /// <summary>Danmaku: ephemeral, no seq, sampled when the room is over its rate.</summary>
    public const string Chat = "chat";

    /// <summary>Never dropped, room seq, replayable.</summary>
    public const string Gift = "gift";

    /// <summary>Back-end announcements: never dropped, room seq, replayable.</summary>
    public const string System = "system";

    /// <summary>Aggregated into counts per frame.</summary>
    public const string Like = "like";

    public static bool IsReliable(string kind) => kind is Gift or System;
}
