using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Why a device uplink or command request was refused: the PUBACK's reason code (by kind) and the MQTT 5 <c>code</c> property.</summary>
internal static class DeviceRejections
{
    public static UplinkRejection InvalidPayload(string message) => new(RejectionKind.InvalidPayload, "invalid_payload", message);

    public static UplinkRejection TooLarge(string message) => new(RejectionKind.QuotaExceeded, "payload_too_large", message);

    public static UplinkRejection RateLimited(string message) => new(RejectionKind.QuotaExceeded, "rate_limited", message);

    public static UplinkRejection QueueFull(string message) => new(RejectionKind.QuotaExceeded, "queue_full", message);

    public static UplinkRejection NotAuthorized(string message) => new(RejectionKind.NotAuthorized, "not_authorized", message);

    public static UplinkRejection InvalidTopic(string message) => new(RejectionKind.InvalidTopic, "invalid_topic", message);

    public static UplinkRejection WrongState(string message) => new(RejectionKind.WrongState, "wrong_state", message);

    public static UplinkRejection NoOwner(string message) => new(RejectionKind.NoRecipients, "no_owner", message);

    public static UplinkRejection Undeliverable(string message) => new(RejectionKind.Undeliverable, "undeliverable", message);

    public static UplinkRejection NotStored(string message) => new(RejectionKind.NotStored, "store_unavailable", message);
}
