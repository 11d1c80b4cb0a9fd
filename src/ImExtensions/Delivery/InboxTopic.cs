namespace MqttIm.ImExtensions.Delivery;

/// <summary>The downlink topic every IM event of a user travels on.</summary>
internal static class InboxTopic
{
    public const string Prefix = "inbox/";

    public static string For(string userId) => Prefix + userId;
}
