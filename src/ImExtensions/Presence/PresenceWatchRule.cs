namespace MqttIm.ImExtensions.Presence;

/// <summary>The choices of <c>Presence:WatchPolicy</c>.</summary>
public enum PresenceWatchRule
{
    /// <summary>Watcher and target take part in a common conversation.</summary>
    SharedConversation,

    /// <summary>Any authenticated user may watch any user.</summary>
    Anyone,

    /// <summary>Users may watch only themselves (their own other devices).</summary>
    SelfOnly,
}
