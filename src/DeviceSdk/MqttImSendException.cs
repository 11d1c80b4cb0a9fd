using MQTTnet;

namespace MqttIm.DeviceSdk;

/// <summary>The broker refused a send; resending with the same client message id is safe.</summary>
public sealed class MqttImSendException : Exception
{
    /// <summary>Creates the exception for a refusal with its MQTT 5 reason code and stable error code.</summary>
    public MqttImSendException(MqttClientPublishReasonCode reasonCode, string code, string? reasonString, string clientMsgId)
        : base($"send refused: {reasonCode} ({code}){(string.IsNullOrEmpty(reasonString) ? "" : ": " + reasonString)}")
    {
        ReasonCode = reasonCode;
        Code = code;
        ReasonString = reasonString;
        ClientMsgId = clientMsgId;
    }

    /// <summary>The PUBACK reason code, e.g. PayloadFormatInvalid or QuotaExceeded.</summary>
    public MqttClientPublishReasonCode ReasonCode { get; }

    /// <summary>The stable error code, e.g. "invalid_payload", "payload_too_large", "not_member", "muted", "store_unavailable".</summary>
    public string Code { get; }

    /// <summary>The broker's human-readable reason, when it gave one.</summary>
    public string? ReasonString { get; }

    /// <summary>The client message id of the refused send.</summary>
    public string ClientMsgId { get; }
}
