using MQTTnet.Protocol;
using MqttIm.ImExtensions.Hooks;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Tests.Hooks;

/// <summary>Each refusal kind answers with the PUBACK reason code docs/PROTOCOL.md gives it; a new kind must be placed here too.</summary>
public sealed class UplinkAnswerTests
{
    private static readonly Dictionary<RejectionKind, MqttPubAckReasonCode> Documented = new()
    {
        [RejectionKind.InvalidPayload] = MqttPubAckReasonCode.PayloadFormatInvalid,
        [RejectionKind.QuotaExceeded] = MqttPubAckReasonCode.QuotaExceeded,
        [RejectionKind.NotAuthorized] = MqttPubAckReasonCode.NotAuthorized,
        [RejectionKind.InvalidTopic] = MqttPubAckReasonCode.TopicNameInvalid,
        [RejectionKind.NotStored] = MqttPubAckReasonCode.ImplementationSpecificError,
        [RejectionKind.WrongState] = MqttPubAckReasonCode.ImplementationSpecificError,
        [RejectionKind.NoRecipients] = MqttPubAckReasonCode.NoMatchingSubscribers,
        [RejectionKind.Undeliverable] = MqttPubAckReasonCode.UnspecifiedError,
    };

    [Fact]
    public void EveryRejectionKind_HasItsDocumentedReasonCode()
    {
        Assert.Equal(Enum.GetValues<RejectionKind>().Order(), Documented.Keys.Order());
        Assert.All(Documented, pair => Assert.Equal(pair.Value, UplinkAnswer.ReasonCodeOf(pair.Key)));
    }
}
