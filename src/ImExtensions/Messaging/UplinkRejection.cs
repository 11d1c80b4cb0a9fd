using MQTTnet.Protocol;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>Why an uplink publish was refused: the MQTT 5 PUBACK reason code and the stable code carried in <c>SendError</c>.</summary>
internal readonly record struct UplinkRejection(MqttPubAckReasonCode ReasonCode, string Code, string Message)
{
    public static UplinkRejection InvalidPayload(string message) => new(MqttPubAckReasonCode.PayloadFormatInvalid, "invalid_payload", message);

    public static UplinkRejection TooLarge(int limit) => new(MqttPubAckReasonCode.QuotaExceeded, "payload_too_large", $"payload exceeds {limit} bytes");

    public static UplinkRejection NotAuthorized(string message) => new(MqttPubAckReasonCode.NotAuthorized, "not_authorized", message);

    public static UplinkRejection InvalidTopic(string message) => new(MqttPubAckReasonCode.TopicNameInvalid, "invalid_topic", message);

    public static UplinkRejection ContentRejected(string message) => new(MqttPubAckReasonCode.PayloadFormatInvalid, "content_rejected", message);

    public static UplinkRejection Muted(string message) => new(MqttPubAckReasonCode.NotAuthorized, "muted", message);

    public static UplinkRejection NotMember(string message) => new(MqttPubAckReasonCode.NotAuthorized, "not_member", message);

    public static UplinkRejection RateLimited(string message) => new(MqttPubAckReasonCode.QuotaExceeded, "rate_limited", message);

    public static UplinkRejection NotStored(string why) => new(MqttPubAckReasonCode.ImplementationSpecificError, "store_unavailable", "the message was received but not stored (" + why + "); resend it with the same client_msg_id");

    public static UplinkRejection StoreUnavailable() => new(MqttPubAckReasonCode.ImplementationSpecificError, "store_unavailable", "the message could not be stored; retry with the same client_msg_id");
}
