namespace MqttIm.ImExtensions.Auth;

/// <summary>
/// Configuration section <c>Auth:Anonymous</c>: what clients that connect without a user name may do when
/// <see cref="AuthOptions.AllowAnonymous"/> is on. Only plain topics are ever open to them; reserved IM, device, room
/// and presence topics and <c>$</c> topics stay closed whatever these lists say.
/// </summary>
public sealed class AnonymousOptions
{
    /// <summary>The owner recorded for client ids that anonymous clients use, so no user can resume or take over such a session (and the reverse).</summary>
    public const string ClientIdOwner = "$anonymous";

    /// <summary>Topic filters an anonymous client may publish to (a topic must match one). Unset: every plain topic.</summary>
    public string[]? Publish { get; set; }

    /// <summary>Topic filters an anonymous client may subscribe within (a filter must lie inside one). Unset: every plain topic.</summary>
    public string[]? Subscribe { get; set; }
}
