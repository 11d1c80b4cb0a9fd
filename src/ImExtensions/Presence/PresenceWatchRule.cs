namespace MqttIm.ImExtensions.Presence;

/// <summary>The choices of <c>Presence:WatchPolicy</c>.</summary>
public enum PresenceWatchRule
{
    /// <summary>Watcher and target both wrote in their 1:1 conversation, or are members of a common group.</summary>
    SharedConversation,

    /// <summary>Any authenticated user may watch any user.</summary>
    Anyone,

    /// <summary>Users may watch only themselves (their own other devices).</summary>
    SelfOnly,
}
