using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Routing;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Moderation;
using MqttIm.ImExtensions.Rpc;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>PUBLISH: ACL, then by topic kind to its handler; plain topics go on through MQTTnet's own dispatch.</summary>
internal sealed class PublishInterceptor(
    ConnectedDeviceRegistry registry,
    TopicAclEvaluator acl,
    ChatSendHandler chat,
    RpcDispatcher rpc,
    PublishRateGate rateGate,
    Devices.DeviceUplinks deviceUplinks,
    Rooms.RoomSendHandler rooms,
    BrokerState.PersistentSessions persistentSessions,
    SharedSubscriptionInterceptor shared,
    ILogger<PublishInterceptor> logger)
{
    public Task InterceptAsync(InterceptingPublishEventArgs args)
    {
        if (string.IsNullOrEmpty(args.ClientId))
        {
            // Injected by the broker itself.
            return Task.CompletedTask;
        }

        if (args.ApplicationMessage.Topic is DuplicateQos2Publish.Topic)
        {
            // Already delivered once; MQTTnet still sends the PUBREC the client waits for.
            args.ProcessPublish = false;
            return Task.CompletedTask;
        }

        // A will (Wills/) is published after its connection is gone: it comes with the device that set it.
        var will = Wills.WillPublication.PublisherOf(args.SessionItems);
        var device = will ?? registry.Find(args.ClientId);
        if (device is null)
        {
            Deny(args, "unknown", new AclDecision(false, "connection is not registered"));
            return Task.CompletedTask;
        }

        if (will is not null)
        {
            return Dispatch(args, device); // wills skip the rate gate (the connection that set them is gone)
        }

        var admission = rateGate.AdmitAsync(args, device);
        if (!admission.IsCompletedSuccessfully)
        {
            return AdmitThenDispatchAsync(admission, args, device);
        }

        return admission.Result ? Dispatch(args, device) : Task.CompletedTask;
    }

    /// <summary>The slow path: the user's budget is being asked of Redis (cluster mode).</summary>
    private async Task AdmitThenDispatchAsync(ValueTask<bool> admission, InterceptingPublishEventArgs args, ConnectedDevice device)
    {
        if (await admission.ConfigureAwait(false))
        {
            await Dispatch(args, device).ConfigureAwait(false);
        }
    }

    private Task Dispatch(InterceptingPublishEventArgs args, ConnectedDevice device)
    {
        var topic = ParsedTopic.Parse(args.ApplicationMessage.Topic);
        var decision = acl.CheckPublish(device, topic);
        if (!decision.Allowed)
        {
            Deny(args, device.UserId, decision);
            return Task.CompletedTask;
        }

        if (topic.Kind == TopicKind.Plain)
        {
            MessageExpiryStamping.Apply(args.ApplicationMessage, TimeProvider.System);
            shared.Publish(args); // one member of each matching $share/ group
        }

        return topic.Kind switch
        {
            TopicKind.C2cSend => UplinkAnswer.ApplyAsync(args, device, chat.HandleC2cAsync(UplinkAnswer.PublishOf(args), device, topic.Target)),
            TopicKind.GroupSend => UplinkAnswer.ApplyAsync(args, device, chat.HandleGroupAsync(UplinkAnswer.PublishOf(args), device, topic.Target)),
            TopicKind.Rpc => rpc.HandleAsync(args, device, topic.Target),
            TopicKind.Device => UplinkAnswer.ApplyAsync(args, device, deviceUplinks.HandleAsync(UplinkAnswer.PublishOf(args), device, topic)),
            TopicKind.Room => UplinkAnswer.ApplyAsync(args, device, rooms.HandleAsync(UplinkAnswer.PublishOf(args), device, topic.Target)),
            TopicKind.Plain => persistentSessions.OnPlainPublishAsync(args), // stored for persistent sessions before the PUBACK
            _ => Task.CompletedTask,
        };
    }

    private void Deny(InterceptingPublishEventArgs args, string userId, AclDecision decision)
    {
        args.ProcessPublish = false;
        args.Response.ReasonCode = decision.InvalidTopic ? MqttPubAckReasonCode.TopicNameInvalid : MqttPubAckReasonCode.NotAuthorized;
        args.Response.ReasonString = decision.Reason;
        ImMetrics.AclDenials.WithLabels("publish").Inc();
        ImLog.PublishDenied(logger, args.ClientId, userId, args.ApplicationMessage.Topic, decision.Reason ?? "");
    }
}
