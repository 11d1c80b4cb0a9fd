namespace MqttIm.ImExtensions.Messaging;

/// <summary>Why an uplink publish was refused: its kind (one MQTT 5 PUBACK reason code each, mapped in Hooks) and the stable code carried in <c>SendError</c>.</summary>
internal readonly record struct UplinkRejection(RejectionKind Kind, string Code, string Message)
{
    public static UplinkRejection InvalidPayload(string message) => new(RejectionKind.InvalidPayload, "invalid_payload", message);

    public static UplinkRejection TooLarge(int limit) => new(RejectionKind.QuotaExceeded, "payload_too_large", $"payload exceeds {limit} bytes");

    public static UplinkRejection NotAuthorized(string message) => new(RejectionKind.NotAuthorized, "not_authorized", message);

    public static UplinkRejection InvalidTopic(string message) => new(RejectionKind.InvalidTopic, "invalid_topic", message);

    public static UplinkRejection ContentRejected(string message) => new(RejectionKind.InvalidPayload, "content_rejected", message);

    public static UplinkRejection Muted(string message) => new(RejectionKind.NotAuthorized, "muted", message);

    public static UplinkRejection NotMember(string message) => new(RejectionKind.NotAuthorized, "not_member", message);

    public static UplinkRejection RateLimited(string message) => new(RejectionKind.QuotaExceeded, "rate_limited", message);

    public static UplinkRejection NotStored(string why) => new(RejectionKind.NotStored, "store_unavailable", "the message was received but not stored (" + why + "); resend it with the same client_msg_id");

    public static UplinkRejection StoreUnavailable() => new(RejectionKind.NotStored, "store_unavailable", "the message could not be stored; retry with the same client_msg_id");
}

/// <summary>What kind of refusal: the PUBACK reason code each stands for is in brackets (Hooks/UplinkAnswer maps it).</summary>
internal enum RejectionKind
{
    /// <summary>The payload is not a valid send, or its content was refused (0x99 Payload format invalid).</summary>
    InvalidPayload,

    /// <summary>Too large, too fast, or over a room's slow mode (0x97 Quota exceeded).</summary>
    QuotaExceeded,

    /// <summary>Not allowed for this sender: not a member, muted, banned (0x87 Not authorized).</summary>
    NotAuthorized,

    /// <summary>No such target (0x90 Topic name invalid).</summary>
    InvalidTopic,

    /// <summary>Received but not stored; resend with the same client message id (0x83 Implementation specific error).</summary>
    NotStored,

    /// <summary>The target is not in a state that takes this (a reply to a finished command; 0x83 Implementation specific error).</summary>
    WrongState,

    /// <summary>Nobody to deliver it to (a device alert without owners; 0x10 No matching subscribers).</summary>
    NoRecipients,

    /// <summary>Understood but undeliverable as asked (an alert its owners cannot receive; 0x80 Unspecified error).</summary>
    Undeliverable,
}
