using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// The inbox side of answering an uplink publish: a refusal also goes to the sender's inbox as <c>SendError</c> (so 3.1.1
/// clients learn of it too); the PUBACK side is the verdict Hooks writes (UplinkAnswer).
/// </summary>
internal sealed class UplinkResponder(IOnlineRouter router, ILogger<UplinkResponder> logger)
{
    /// <summary>Logs and reports the refusal on the sender's inbox, then returns the verdict for its PUBACK.</summary>
    public async ValueTask<UplinkVerdict> RejectAsync(
        ConnectedDevice device, string topic, UplinkRejection rejection, string clientMsgId, CancellationToken cancellationToken, bool log = true)
    {
        if (log)
        {
            ImLog.MessageRejected(logger, device.ClientId, topic, rejection.Message);
        }

        await SendErrorAsync(device, topic, clientMsgId, rejection, cancellationToken).ConfigureAwait(false);
        return UplinkVerdict.Rejected(rejection);
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
}
