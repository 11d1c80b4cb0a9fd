using MQTTnet.Server;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Messaging;

/// <summary><c>im/c2c/{peer}</c>: validate the envelope, hand it to the group commit, acknowledge only once it is durable.</summary>
internal sealed class C2cSendHandler(
    SendRequestReader reader,
    MessageCommitQueue commitQueue,
    UplinkResponder responder,
    IOnlineRouter router)
{
    public async Task HandleAsync(InterceptingPublishEventArgs args, ConnectedDevice device, string peerId)
    {
        args.ProcessPublish = false;
        if (!reader.TryRead(args.ApplicationMessage, out var request, out var rejection))
        {
            await responder.RejectAsync(args, device, rejection, request.ClientMsgId).ConfigureAwait(false);
            return;
        }

        var send = new PendingSend(device.UserId, device.ClientId, peerId, ConversationIds.C2c(device.UserId, peerId), request);
        SendOutcome outcome;
        try
        {
            outcome = await commitQueue.SubmitAsync(send, args.CancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException)
        {
            await responder.RejectAsync(args, device, UplinkRejection.StoreUnavailable(), request.ClientMsgId).ConfigureAwait(false);
            return;
        }

        UplinkResponder.Accept(args, outcome);
        if (outcome.Duplicate)
        {
            // A resend: the first send's ack may have been lost with the connection, so answer it again.
            var ack = new OutboundEvent(new InboxEvent { SendAck = SendAcks.From(outcome.Message, duplicate: true) });
            await router.RouteToDeviceAsync(device.UserId, device.ClientId, ack, args.CancellationToken).ConfigureAwait(false);
        }
    }
}
