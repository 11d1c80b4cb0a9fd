namespace MqttIm.DeviceSdk.Wire;

/// <summary>The topic names of the MqttIm wire contract.</summary>
internal static class Topics
{
    public static string Inbox(string userId) => $"inbox/{userId}";

    public static string RpcInbox(string userId) => $"inbox/{userId}/rpc";

    public static string C2cSend(string peerUserId) => $"im/c2c/{peerUserId}";

    public static string GroupSend(string groupId) => $"im/group/{groupId}";

    public static string Rpc(string method) => $"im/rpc/{method}";

    public const string RoomPrefix = "room/";

    public static string Room(string roomId) => RoomPrefix + roomId;
}
