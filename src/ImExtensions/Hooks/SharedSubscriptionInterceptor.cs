using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Routing;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.SharedSubscriptions;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// SUBSCRIBE, UNSUBSCRIBE and PUBLISH for shared subscriptions (<c>$share/{ShareName}/{filter}</c>), between MQTTnet's
/// event args and <see cref="SharedSubscriptionRegistry{TMessage}"/>. The ACL judges the filter inside (<c>$share/g/im/#</c>
/// as <c>im/#</c>), and only plain topics can be shared: the reserved ones are delivered by the broker itself.
/// </summary>
internal sealed class SharedSubscriptionInterceptor(
    SharedSubscriptionRegistry<MqttApplicationMessage> registry,
    TopicAclEvaluator acl,
    ILogger<SharedSubscriptionInterceptor> logger)
{
    /// <summary>
    /// A shared filter (<see cref="SharedFilter.IsShared"/>). Null when it was granted or refused here; otherwise the ACL's
    /// reason, for the caller's NotAuthorized answer.
    /// </summary>
    public string? Subscribe(InterceptingSubscriptionEventArgs args, ConnectedDevice device)
    {
        var raw = args.TopicFilter.Topic;
        if (!SharedFilter.TryParse(raw, out var shared, out var error))
        {
            args.TopicFilter.Topic = AsWritten(raw);
            Refuse(args, MqttSubscribeReasonCode.TopicFilterInvalid, error!);
            return null;
        }

        args.TopicFilter.Topic = shared.Text; // what logs and the console show
        var inner = ParsedTopic.Parse(shared.Filter);
        var decision = acl.CheckSubscribe(device, inner);
        if (!decision.Allowed)
        {
            return decision.Reason;
        }

        if (inner.Kind is not (TopicKind.Plain or TopicKind.Wildcard))
        {
            Refuse(args, MqttSubscribeReasonCode.SharedSubscriptionsNotSupported, "only plain topics can be shared; inbox, room, presence and device topics are delivered by the broker");
            return null;
        }

        // Granted at the QoS asked for, without MQTTnet storing it: MQTTnet would deliver to every member, and it sends
        // no retained messages then, as the spec asks of a shared subscribe.
        args.ProcessSubscription = false;
        var granted = Math.Min((int)args.Response.ReasonCode, 2);
        args.Session.Items[SharedSessionSubscriber.SessionItemKey] = true;
        registry.Subscribe(args.ClientId, device.ConnectionKey, new SharedSessionSubscriber(args.Session), shared, granted, args.TopicFilter.RetainAsPublished);
        SharedSubscriptionLog.Joined(logger, args.ClientId, shared.ShareName, shared.Filter, granted);
        return null;
    }

    /// <summary>UNSUBSCRIBE of a shared filter: leaves the group (MQTTnet never stored it).</summary>
    public void Unsubscribe(InterceptingUnsubscriptionEventArgs args)
    {
        args.ProcessUnsubscription = false;
        if (!SharedFilter.TryParse(args.Topic, out var shared, out _))
        {
            args.Response.ReasonCode = MqttUnsubscribeReasonCode.TopicFilterInvalid;
            return;
        }

        args.Response.ReasonCode = registry.Unsubscribe(args.ClientId, shared.ShareName, shared.Filter)
            ? MqttUnsubscribeReasonCode.Success
            : MqttUnsubscribeReasonCode.NoSubscriptionExisted;
    }

    /// <summary>A plain-topic PUBLISH about to be routed: one copy to one member of each matching group. Costs one check while no group exists.</summary>
    public void Publish(InterceptingPublishEventArgs args)
    {
        if (registry.IsEmpty)
        {
            return;
        }

        var message = args.ApplicationMessage;
        registry.Route(message.Topic, (int)message.QualityOfServiceLevel, message.Retain, message, SharedSessionSubscriber.Own);
    }

    private void Refuse(InterceptingSubscriptionEventArgs args, MqttSubscribeReasonCode code, string reason)
    {
        args.ProcessSubscription = false;
        args.Response.ReasonCode = code; // MQTT 3.1.1 clients get 0x80 (failure) for it
        args.Response.ReasonString = reason;
        args.ReasonString = reason; // what MQTTnet 5.2 actually puts into the SUBACK
        SharedSubscriptionLog.SubscribeRefused(logger, args.ClientId, args.TopicFilter.Topic, (int)code, reason);
    }

    // The filter as the client sent it, for logs: the packet layer's prefix and subscription id back to "$share/".
    private static string AsWritten(string raw)
    {
        if (!raw.StartsWith(SharedFilter.RewrittenPrefix, StringComparison.Ordinal))
        {
            return raw;
        }

        var idEnd = raw.IndexOf('/', SharedFilter.RewrittenPrefix.Length);
        return idEnd < 0 ? SharedFilter.Prefix : SharedFilter.Prefix + raw[(idEnd + 1)..];
    }
}
