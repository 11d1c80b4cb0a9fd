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
            var granted = await deviceSubscriptions.SubscribeAsync(device, parsed, filter, new Delivery.MqttSessionChannel(args.Session), args.CancellationToken).ConfigureAwait(false);
            if (granted is { } refused)
            {
                Deny(args, device.UserId, refused);
                return;
            }

            // Granted without MQTTnet storing it: device data goes to MqttIm's own watchers and command routes.
            args.ProcessSubscription = false;
            args.Response.ReasonCode = MqttSubscribeReasonCode.GrantedQoS1;
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
            var atMostOnce = args.TopicFilter.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce;
            var denial = await rooms.JoinAsync(device, parsed.Target, atMostOnce, new Delivery.MqttSessionChannel(args.Session), args.CancellationToken).ConfigureAwait(false);
            if (denial is not null)
            {
                Deny(args, device.UserId, denial);
                return;
            }

            args.ProcessSubscription = false;
            args.Response.ReasonCode = atMostOnce ? MqttSubscribeReasonCode.GrantedQoS0 : MqttSubscribeReasonCode.GrantedQoS1;
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

    /// <remarks>
    /// Completes synchronously on purpose: MQTTnet 5.2 runs this interceptor inside the session's thread-affine
    /// subscriptions lock, which an interceptor resumed on another thread would leave held (blocking every later delivery
    /// to the session). Nothing here awaits; the cluster's directory write finishes in the background.
    /// </remarks>
    public Task InterceptUnsubscribeAsync(InterceptingUnsubscriptionEventArgs args)
    {
        if (SharedSubscriptions.SharedFilter.IsShared(args.Topic))
        {
            shared.Unsubscribe(args);
            return Task.CompletedTask;
        }

        var parsed = ParsedTopic.Parse(args.Topic);
        if (parsed.Kind == TopicKind.Device)
        {
            args.ProcessUnsubscription = false;
            args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
            deviceSubscriptions.Unsubscribe(args.ClientId, parsed, args.Topic);
            return Task.CompletedTask;
        }

        if (parsed.Kind == TopicKind.Presence)
        {
            presenceWatchers.Remove(args.ClientId, parsed.Target);
            args.ProcessUnsubscription = false;
            args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
            return Task.CompletedTask;
        }

        if (parsed.Kind == TopicKind.Room)
        {
            rooms.Leave(args.ClientId, parsed.Target);
            args.ProcessUnsubscription = false;
            args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
            return Task.CompletedTask;
        }

        if (parsed.Kind != TopicKind.Inbox || registry.Find(args.ClientId) is not { } device || parsed.Target != device.UserId)
        {
            return Task.CompletedTask;
        }

        args.ProcessUnsubscription = false;
        args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
        if (parsed.Rest.Length == 0)
        {
            lifecycle.UnregisterInbox(device);
        }

        return Task.CompletedTask;
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
