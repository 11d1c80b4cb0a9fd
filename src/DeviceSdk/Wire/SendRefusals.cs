using MQTTnet;

namespace MqttIm.DeviceSdk.Wire;

/// <summary>Translates between MQTT 5 PUBACK reason codes and the stable codes of <c>SendError</c>.</summary>
internal static class SendRefusals
{
    public static string CodeOf(MqttClientPublishReasonCode reasonCode) => reasonCode switch
    {
        MqttClientPublishReasonCode.PayloadFormatInvalid => "invalid_payload",
        MqttClientPublishReasonCode.QuotaExceeded => "payload_too_large",
        MqttClientPublishReasonCode.NotAuthorized => "not_authorized",
        MqttClientPublishReasonCode.TopicNameInvalid => "invalid_topic",
        MqttClientPublishReasonCode.ImplementationSpecificError => "store_unavailable",
        _ => "unspecified",
    };

    public static MqttClientPublishReasonCode ReasonCodeOf(string code) => code switch
    {
        "invalid_payload" or "content_rejected" => MqttClientPublishReasonCode.PayloadFormatInvalid,
        "payload_too_large" or "rate_limited" => MqttClientPublishReasonCode.QuotaExceeded,
        "not_authorized" or "not_member" or "muted" => MqttClientPublishReasonCode.NotAuthorized,
        "invalid_topic" => MqttClientPublishReasonCode.TopicNameInvalid,
        "store_unavailable" => MqttClientPublishReasonCode.ImplementationSpecificError,
        _ => MqttClientPublishReasonCode.UnspecifiedError,
    };

    /// <summary>Whether a PUBACK means the broker accepted the publish.</summary>
    public static bool IsAccepted(MqttClientPublishReasonCode reasonCode) =>
        reasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers;
}
