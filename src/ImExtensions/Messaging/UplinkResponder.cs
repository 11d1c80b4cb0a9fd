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
        args.Response.ReasonString = rejection.Message;
        // The stable code travels in the MQTT 5 PUBACK too, so clients need not wait for the inbox SendError.
        args.Response.UserProperties = [UserProperty("code", rejection.Code)];
        ImMetrics.MessagesRejected.WithLabels(rejection.Code).Inc();
        if (log)
        {
            ImLog.MessageRejected(logger, device.ClientId, args.ApplicationMessage.Topic, rejection.Message);
        }

        var error = new InboxEvent
        {
            SendError = new SendError
            {
                ClientMsgId = clientMsgId,
                Topic = args.ApplicationMessage.Topic,
                Code = rejection.Code,
                Message = rejection.Message,
            },
        };
        await router.RouteToDeviceAsync(device.UserId, device.ClientId, new OutboundEvent(error), args.CancellationToken).ConfigureAwait(false);
    }

    public static void Accept(InterceptingPublishEventArgs args, in SendOutcome outcome)
    {
        args.ProcessPublish = false;
        args.Response.ReasonCode = MqttPubAckReasonCode.Success;
        var message = outcome.Message;
        args.Response.UserProperties =
        [
            UserProperty("conversation_id", message.ConversationId),
            UserProperty("seq", message.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            UserProperty("server_msg_id", message.ServerMsgId),
            UserProperty("server_time_ms", message.ServerTimeMs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            UserProperty("duplicate", outcome.Duplicate ? "true" : "false"),
        ];
    }

    private static MqttUserProperty UserProperty(string name, string value) =>
        new(name, new ReadOnlyMemory<byte>(System.Text.Encoding.UTF8.GetBytes(value)));
}
