using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>Who may view a room: it exists and is open, the user is not banned, and it is public or the token grants it.</summary>
internal sealed class RoomAccess(RoomGrants grants)
{
    /// <summary>Null when the client may view the room, else the reason it may not.</summary>
    public string? CheckView(string clientId, string userId, string roomId, RoomInfo? room)
    {
        if (room is null)
        {
            return $"room {roomId} does not exist";
        }

        if (room.Closed)
        {
            return $"room {roomId} is closed";
        }

        if (room.BannedUserIds.Contains(userId))
        {
            return $"user {userId} is banned from room {roomId}";
        }

        return room.Public || grants.Allows(clientId, roomId)
            ? null
            : $"room {roomId} is private: the access token's '{RoomGrants.ClaimName}' claim must name it";
    }
}
