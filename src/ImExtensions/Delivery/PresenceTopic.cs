namespace MqttIm.ImExtensions.Delivery;

/// <summary>The retained topic of a user's presence: <c>presence/{userId}</c>.</summary>
internal static class PresenceTopic
{
    public const string Prefix = "presence/";

    public static string For(string userId) => Prefix + userId;
}
