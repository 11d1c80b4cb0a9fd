using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Routing;

/// <summary>Who may subscribe to and publish on which topic (DESIGN §4–5): own inbox only, no publishing on downlinks.</summary>
internal sealed class TopicAclEvaluator(AclOptions options, AnonymousTopicAcl? anonymous = null)
{
    private readonly AnonymousTopicAcl _anonymous = anonymous ?? new AnonymousTopicAcl(new AnonymousOptions());

    public AclDecision CheckSubscribe(ConnectedDevice device, in ParsedTopic filter) => device.IsAnonymous ? _anonymous.CheckSubscribe(filter) : device.IsIotDevice ? Devices.DeviceTopicAcl.CheckDeviceSubscribe(device, filter) : filter.Kind switch
    {
        TopicKind.Inbox when filter.Target == device.UserId => AclDecision.Allow,
        TopicKind.Inbox => AclDecision.Deny("a client may subscribe only to its own inbox/" + device.UserId),
        TopicKind.Plain or TopicKind.Wildcard when options.AllowPlainTopics => AclDecision.Allow,
        TopicKind.Plain or TopicKind.Wildcard => AclDecision.Deny("plain topics are disabled on this broker"),
        TopicKind.C2cSend or TopicKind.GroupSend or TopicKind.Rpc or TopicKind.ImReserved =>
            AclDecision.Deny("im/… topics are uplink only; events arrive on inbox/" + device.UserId),
        TopicKind.System => AclDecision.Deny("$ topics are not available to clients"),
        // Whether this user may watch that one is PresenceWatchPolicy's (async) decision, asked by SubscriptionInterceptor.
        TopicKind.Presence when filter.Rest.Length == 0 && UserIds.IsValid(filter.Target) => AclDecision.Allow,
        TopicKind.Presence => AclDecision.Deny("presence subscriptions name exactly one user: presence/{userId}, no wildcards"),
        TopicKind.Device => Devices.DeviceTopicAcl.CheckUserSubscribe(filter),
        // Whether this user may view that room is RoomAccess's decision (it reads the room), asked by SubscriptionInterceptor.
        TopicKind.Room when filter.Rest.Length == 0 && UserIds.IsValid(filter.Target) => AclDecision.Allow,
        TopicKind.Room => AclDecision.Deny("room subscriptions name exactly one room: room/{roomId}, no wildcards"),
        _ => AclDecision.Deny($"{filter.Kind.ToString().ToLowerInvariant()} topics are not enabled on this broker"),
    };

    public AclDecision CheckPublish(ConnectedDevice device, in ParsedTopic topic) => device.IsAnonymous ? _anonymous.CheckPublish(topic) : device.IsIotDevice ? Devices.DeviceTopicAcl.CheckDevicePublish(device, topic) : topic.Kind switch
    {
        TopicKind.C2cSend when UserIds.IsValid(topic.Target) => AclDecision.Allow,
        TopicKind.C2cSend => AclDecision.Invalid("im/c2c/{peerUserId}: " + UserIds.Rule),
        TopicKind.Rpc => AclDecision.Allow,
        TopicKind.Plain when options.AllowPlainTopics => AclDecision.Allow,
        TopicKind.Plain => AclDecision.Deny("plain topics are disabled on this broker"),
        TopicKind.Inbox => AclDecision.Deny("nobody may publish on inbox/… downlink topics"),
        TopicKind.Presence => AclDecision.Deny("presence/… is published by the broker only"),
        TopicKind.Device => Devices.DeviceTopicAcl.CheckUserPublish(topic),
        TopicKind.System => AclDecision.Deny("$ topics are not available to clients"),
        TopicKind.GroupSend when UserIds.IsValid(topic.Target) => AclDecision.Allow,
        TopicKind.GroupSend => AclDecision.Invalid("im/group/{groupId}: a group id follows the user id rule: " + UserIds.Rule),
        TopicKind.ImReserved => AclDecision.Invalid("unknown im/… topic; see docs/PROTOCOL.md"),
        TopicKind.Room when topic.Rest.Length == 0 && UserIds.IsValid(topic.Target) => AclDecision.Allow,
        TopicKind.Room => AclDecision.Invalid("room/{roomId}: a room id follows the user id rule: " + UserIds.Rule),
        _ => AclDecision.Deny($"{topic.Kind.ToString().ToLowerInvariant()} topics are not enabled on this broker"),
    };
}
