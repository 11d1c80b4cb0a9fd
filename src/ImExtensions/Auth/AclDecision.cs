namespace MqttIm.ImExtensions.Auth;

/// <summary>The outcome of one ACL check; a denial carries the reason that is logged and sent to MQTT 5 clients.</summary>
/// <param name="InvalidTopic">The topic itself is malformed (TopicNameInvalid) rather than forbidden (NotAuthorized).</param>
public readonly record struct AclDecision(bool Allowed, string? Reason, bool InvalidTopic = false)
{
    public static AclDecision Allow { get; } = new(true, null);

    public static AclDecision Deny(string reason) => new(false, reason);

    public static AclDecision Invalid(string reason) => new(false, reason, InvalidTopic: true);
}
