namespace MqttIm.ImExtensions.Presence;

/// <summary>Configuration section <c>Presence</c>.</summary>
public sealed class PresenceOptions
{
    public const string SectionName = "Presence";

    /// <summary>Who may subscribe to <c>presence/{userId}</c> of someone else (everyone may always watch themselves).</summary>
    public PresenceWatchRule WatchPolicy { get; set; } = PresenceWatchRule.SharedConversation;
}
