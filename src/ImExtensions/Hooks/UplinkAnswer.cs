using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// Writes an uplink handler's <see cref="UplinkVerdict"/> into MQTTnet's PUBACK: the reason code, and for MQTT 5 the
/// reason string and user properties (MQTTnet drops both for 3.1.1, so they are built only for MQTT 5).
/// </summary>
internal static class UplinkAnswer
{
    /// <summary>What the handlers read of the PUBLISH.</summary>
    public static UplinkPublish PublishOf(InterceptingPublishEventArgs args) =>
        new(args.ApplicationMessage.Topic, args.ApplicationMessage.Payload, args.ApplicationMessage.ContentType, args.CancellationToken,
            args.ApplicationMessage.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce);

    /// <summary>Applies the verdict once the handler has decided; inline when it already has.</summary>
    public static Task ApplyAsync(InterceptingPublishEventArgs args, ConnectedDevice device, Task<UplinkVerdict> verdict)
    {
        args.ProcessPublish = false;
        if (verdict.IsCompletedSuccessfully)
        {
            Apply(args, device, verdict.Result);
            return Task.CompletedTask;
        }

        return AwaitThenApplyAsync(args, device, verdict);
    }

    private static async Task AwaitThenApplyAsync(InterceptingPublishEventArgs args, ConnectedDevice device, Task<UplinkVerdict> verdict) =>
        Apply(args, device, await verdict.ConfigureAwait(false));

    public static void Apply(InterceptingPublishEventArgs args, ConnectedDevice device, in UplinkVerdict verdict)
    {
        args.ProcessPublish = false;
        var response = args.Response;
        switch (verdict.Kind)
        {
            case UplinkVerdictKind.Rejected:
                response.ReasonCode = ReasonCodeOf(verdict.Rejection.Kind);
                if (device.IsMqtt5)
                {
                    response.ReasonString = verdict.Rejection.Message;
                    // The stable code travels in the MQTT 5 PUBACK too, so clients need not wait for the inbox SendError.
                    response.UserProperties = [UserProperty("code", verdict.Rejection.Code)];
                }

                break;
            case UplinkVerdictKind.Received:
                response.ReasonCode = MqttPubAckReasonCode.Success;
                if (device.IsMqtt5)
                {
                    response.UserProperties = [ReceivedProperty, UserProperty("client_msg_id", verdict.ClientMsgId)];
                }

                break;
            case UplinkVerdictKind.Stored:
                response.ReasonCode = MqttPubAckReasonCode.Success;
                if (device.IsMqtt5)
                {
                    // A 3.1.1 PUBACK has no properties: there the seq goes to the inbox send-ack only.
                    var message = verdict.Outcome.Message;
                    response.UserProperties =
                    [
                        UserProperty("conversation_id", message.ConversationId),
                        NumberProperty("seq", message.Seq),
                        UserProperty("server_msg_id", message.ServerMsgId),
                        NumberProperty("server_time_ms", message.ServerTimeMs),
                        verdict.Outcome.Duplicate ? DuplicateProperty : FreshProperty,
                    ];
                }

                break;
            default:
                response.ReasonCode = MqttPubAckReasonCode.Success;
                if (verdict.Seq > 0)
                {
                    response.UserProperties = [NumberProperty("seq", verdict.Seq)];
                }
                else if (verdict.Properties is { Count: > 0 } properties && device.IsMqtt5)
                {
                    response.UserProperties = [.. properties.Select(p => UserProperty(p.Key, p.Value))];
                }

                break;
        }
    }

    /// <summary>A refusal without the inbox report (plain topics): the PUBACK only.</summary>
    public static void Refuse(InterceptingPublishEventArgs args, in UplinkRejection rejection)
    {
        args.ProcessPublish = false;
        args.Response.ReasonCode = ReasonCodeOf(rejection.Kind);
        args.Response.ReasonString = rejection.Message;
    }

    public static MqttPubAckReasonCode ReasonCodeOf(RejectionKind kind) => kind switch
    {
        RejectionKind.InvalidPayload => MqttPubAckReasonCode.PayloadFormatInvalid,
        RejectionKind.QuotaExceeded => MqttPubAckReasonCode.QuotaExceeded,
        RejectionKind.NotAuthorized => MqttPubAckReasonCode.NotAuthorized,
        RejectionKind.InvalidTopic => MqttPubAckReasonCode.TopicNameInvalid,
        RejectionKind.NoRecipients => MqttPubAckReasonCode.NoMatchingSubscribers,
        RejectionKind.Undeliverable => MqttPubAckReasonCode.UnspecifiedError,
        _ => MqttPubAckReasonCode.ImplementationSpecificError, // NotStored, WrongState
    };

    // Constant properties are built once (MQTTnet only reads them when it encodes the PUBACK).
    private static readonly MqttUserProperty ReceivedProperty = UserProperty("ack", "received");
    private static readonly MqttUserProperty DuplicateProperty = UserProperty("duplicate", "true");
    private static readonly MqttUserProperty FreshProperty = UserProperty("duplicate", "false");

    private static MqttUserProperty UserProperty(string name, string value) =>
        new(name, new ReadOnlyMemory<byte>(System.Text.Encoding.UTF8.GetBytes(value)));

    // Digits straight to UTF-8 (no string in between).
    private static MqttUserProperty NumberProperty(string name, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out var length, default, System.Globalization.CultureInfo.InvariantCulture);
        return new(name, new ReadOnlyMemory<byte>(digits[..length].ToArray()));
    }
}
