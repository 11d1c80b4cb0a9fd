using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Routing;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// SUBSCRIBE: ACL per filter. Inbox subscriptions are granted without MQTTnet storing them (the router delivers
/// straight into the session), so IM devices never slow MQTTnet's per-publish walk over subscribed sessions.
/// </summary>
internal sealed class SubscriptionInterceptor(
    ConnectedDeviceRegistry registry,
    TopicAclEvaluator acl,
    DeviceLifecycle lifecycle,
    PresenceWatchPolicy presencePolicy,
    PresenceWatchers presenceWatchers,
    IPresenceLookup presenceLookup,
    Devices.DeviceSubscriptions deviceSubscriptions,
    Rooms.RoomJoinHandler rooms,
    SharedSubscriptionInterceptor shared,
    ILogger<SubscriptionInterceptor> logger)
{
    public async Task InterceptSubscribeAsync(InterceptingSubscriptionEventArgs args)
    {
        var filter = args.TopicFilter.Topic;
        var device = registry.Find(args.ClientId);
        if (device is null)
        {
            Deny(args, "unknown", "connection is not registered");
            return;
        }

        if (SharedSubscriptions.SharedFilter.IsShared(filter))
        {
            if (shared.Subscribe(args, device) is { } sharedDenial)
            {
                Deny(args, device.UserId, sharedDenial);
            }

            return;
        }

        var parsed = ParsedTopic.Parse(filter);
        var decision = acl.CheckSubscribe(device, parsed);
        if (!decision.Allowed)
        {
            Deny(args, device.UserId, decision.Reason!);
            return;
        }

        if (parsed.Kind == TopicKind.Device)
        {
            if (await deviceSubscriptions.SubscribeAsync(args, device, parsed).ConfigureAwait(false) is { } refused)
            {
                Deny(args, device.UserId, refused);
            }

            return;
        }

        if (parsed.Kind == TopicKind.Presence)
        {
            if (!await presencePolicy.MayWatchAsync(device.UserId, parsed.Target, args.CancellationToken).ConfigureAwait(false))
            {
                Deny(args, device.UserId, $"user {device.UserId} may not watch the presence of {parsed.Target} (Presence:WatchPolicy)");
                return;
            }

            // Granted without MQTTnet storing it: presence goes straight to watchers, starting with the current state (retained).
            args.ProcessSubscription = false;
            args.Response.ReasonCode = MqttSubscribeReasonCode.GrantedQoS1;
            var channel = new Delivery.MqttSessionChannel(args.Session);
            var ownPresence = parsed.Target == device.UserId;
            presenceWatchers.Add(args.ClientId, parsed.Target, channel, ownPresence);
            var state = await presenceLookup.CurrentAsync(parsed.Target).ConfigureAwait(false);
            channel.TryPublish(Delivery.PresenceMessages.For(ownPresence ? state : Delivery.PresenceMessages.WithoutDevices(state)));
            return;
        }

        if (parsed.Kind == TopicKind.Room)
        {
            // Joining a live room: granted without MQTTnet storing it; frames go straight to the viewer's session.
            if (await rooms.JoinAsync(args, device, parsed.Target).ConfigureAwait(false) is { } denial)
            {
                Deny(args, device.UserId, denial);
            }

            return;
        }

        if (parsed.Kind != TopicKind.Inbox)
        {
            return;
        }

        args.ProcessSubscription = false;
        args.Response.ReasonCode = MqttSubscribeReasonCode.GrantedQoS1;
        if (parsed.Rest.Length == 0)
        {
            await lifecycle.RegisterInboxAsync(device, args.Session).ConfigureAwait(false);
        }
    }

    public async Task InterceptUnsubscribeAsync(InterceptingUnsubscriptionEventArgs args)
    {
        if (SharedSubscriptions.SharedFilter.IsShared(args.Topic))
        {
            shared.Unsubscribe(args);
            return;
        }

        var parsed = ParsedTopic.Parse(args.Topic);
        if (parsed.Kind == TopicKind.Device)
        {
            deviceSubscriptions.Unsubscribe(args, parsed);
            return;
        }

        if (parsed.Kind == TopicKind.Presence)
        {
            presenceWatchers.Remove(args.ClientId, parsed.Target);
            args.ProcessUnsubscription = false;
            args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
            return;
        }

        if (parsed.Kind == TopicKind.Room)
        {
            rooms.Leave(args, parsed.Target);
            return;
        }

        if (parsed.Kind != TopicKind.Inbox || registry.Find(args.ClientId) is not { } device || parsed.Target != device.UserId)
        {
            return;
        }

        args.ProcessUnsubscription = false;
        args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
        if (parsed.Rest.Length == 0)
        {
            await lifecycle.UnregisterInboxAsync(device).ConfigureAwait(false);
        }
    }

    private void Deny(InterceptingSubscriptionEventArgs args, string userId, string reason)
    {
        args.ProcessSubscription = false;
        args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
        args.Response.ReasonString = reason;
        args.ReasonString = reason; // what MQTTnet 5.2 actually puts into the SUBACK
        ImMetrics.AclDenials.WithLabels("subscribe").Inc();
        ImLog.SubscribeDenied(logger, args.ClientId, userId, args.TopicFilter.Topic, reason);
    }
}
