using Microsoft.Extensions.Logging;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>Answers an uplink publish: the MQTT 5 PUBACK fields, plus a <c>SendError</c> on the sender's inbox so 3.1.1 clients learn of refusals too.</summary>
internal sealed class UplinkResponder(IOnlineRouter router, ILogger<UplinkResponder> logger)
{
    public async ValueTask RejectAsync(InterceptingPublishEventArgs args, ConnectedDevice device, UplinkRejection rejection, string clientMsgId = "", bool log = true)
    {
        args.ProcessPublish = false;
        args.Response.ReasonCode = rejection.ReasonCode;
        if (device.IsMqtt5)
        {
            // MQTTnet drops reason string and properties for 3.1.1 anyway: build them only for MQTT 5.
            args.Response.ReasonString = rejection.Message;
            // The stable code travels in the MQTT 5 PUBACK too, so clients need not wait for the inbox SendError.
            args.Response.UserProperties = [UserProperty("code", rejection.Code)];
        }

        if (log)
        {
            ImLog.MessageRejected(logger, device.ClientId, args.ApplicationMessage.Topic, rejection.Message);
        }

        await SendErrorAsync(device, args.ApplicationMessage.Topic, clientMsgId, rejection, args.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>An early-acked send the commit did not take: the failure send-ack for its client message id.</summary>
    public async ValueTask ReportNotStoredAsync(ConnectedDevice device, string topic, string clientMsgId, UplinkRejection rejection)
    {
        ImLog.MessageRejected(logger, device.ClientId, topic, rejection.Message);
        await SendErrorAsync(device, topic, clientMsgId, rejection, CancellationToken.None).ConfigureAwait(false);
    }

    public void LogReportFailed(ConnectedDevice device, Exception exception) =>
        ImLog.HookFailed(logger, exception, "send-report", device.ClientId);

    private async ValueTask SendErrorAsync(ConnectedDevice device, string topic, string clientMsgId, UplinkRejection rejection, CancellationToken cancellationToken)
    {
        ImMetrics.MessagesRejected.WithLabels(rejection.Code).Inc();
        var error = new InboxEvent
        {
            SendError = new SendError
            {
                ClientMsgId = clientMsgId,
                Topic = topic,
                Code = rejection.Code,
                Message = rejection.Message,
            },
        };
        await router.RouteToDeviceAsync(device.UserId, device.ClientId, new OutboundEvent(error), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Early-ack mode: the send is queued, not stored yet; MQTT 5 says so in the PUBACK (<c>ack=received</c>).</summary>
    public static void Received(InterceptingPublishEventArgs args, ConnectedDevice device, string clientMsgId)
    {
        args.ProcessPublish = false;
        args.Response.ReasonCode = MqttPubAckReasonCode.Success;
        if (device.IsMqtt5)
        {
            args.Response.UserProperties = [ReceivedProperty, UserProperty("client_msg_id", clientMsgId)];
        }
    }

    public static void Accept(InterceptingPublishEventArgs args, ConnectedDevice device, in SendOutcome outcome)
    {
        args.ProcessPublish = false;
        args.Response.ReasonCode = MqttPubAckReasonCode.Success;
        if (!device.IsMqtt5)
        {
            // A 3.1.1 PUBACK has no properties: the seq goes to the inbox send-ack only.
            return;
        }

        var message = outcome.Message;
        args.Response.UserProperties =
        [
            UserProperty("conversation_id", message.ConversationId),
            NumberProperty("seq", message.Seq),
            UserProperty("server_msg_id", message.ServerMsgId),
            NumberProperty("server_time_ms", message.ServerTimeMs),
            outcome.Duplicate ? DuplicateProperty : FreshProperty,
        ];
    }

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
