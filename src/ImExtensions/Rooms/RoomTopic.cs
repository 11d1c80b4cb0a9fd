namespace MqttIm.ImExtensions.Rooms;

/// <summary><c>room/{roomId}</c>: viewers subscribe to it and publish on it.</summary>
internal static class RoomTopic
{
    public const string Prefix = "room/";

    public static string For(string roomId) => Prefix + roomId;
}
