using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Topics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// The topic rules for IoT devices (only their own <c>device/{id}/…</c> uplinks and command downlinks) and the shape rules
/// for users on device topics (whether the user owns the device is <see cref="DeviceSubscriptions"/>' async check).
/// </summary>
internal static class DeviceTopicAcl
{
    private const string DeviceRule = "a device may publish only on its own device/{id}/telemetry[/…], device/{id}/alert, device/{id}/cmd/{commandId}/reply and device/{id}/sync";

    public static AclDecision CheckDeviceSubscribe(ConnectedDevice device, in ParsedTopic filter)
    {
        if (filter.Kind != TopicKind.Device || filter.Target != device.UserId)
        {
            return AclDecision.Deny($"a device may subscribe only to its own commands: device/{device.UserId}/cmd/#");
        }

        return filter.Rest is "cmd/#" or "cmd/+" || DeviceTopics.CommandIdOfDownlink(filter.Rest) is { } id && id is not ("#" or "+")
            ? AclDecision.Allow
            : AclDecision.Deny($"a device may subscribe only to device/{device.UserId}/cmd/# (or cmd/+)");
    }

    public static AclDecision CheckDevicePublish(ConnectedDevice device, in ParsedTopic topic)
    {
        if (topic.Kind != TopicKind.Device)
        {
            return AclDecision.Deny(DeviceRule);
        }

        if (topic.Target != device.UserId)
        {
            return AclDecision.Deny($"device {device.UserId} may not publish as device {topic.Target}");
        }

        var (first, remainder) = DeviceTopics.Split(topic.Rest);
        return first switch
        {
            DeviceTopics.Telemetry => AclDecision.Allow,
            DeviceTopics.Sync when remainder.Length == 0 => AclDecision.Allow,
            DeviceTopics.Alert when remainder.Length == 0 => AclDecision.Allow,
            DeviceTopics.Commands when IsReply(remainder) => AclDecision.Allow,
            DeviceTopics.Commands => AclDecision.Deny("device/{id}/cmd/{commandId} is the broker's downlink; reply on device/{id}/cmd/{commandId}/reply"),
            DeviceTopics.State => AclDecision.Deny("device/{id}/state is published by the broker"),
            _ => AclDecision.Invalid(DeviceRule),
        };
    }

    /// <summary>Users may subscribe to <c>device/{id}/telemetry[/…]</c> and <c>device/{id}/state</c> of one named device.</summary>
    public static AclDecision CheckUserSubscribe(in ParsedTopic filter)
    {
        if (!UserIds.IsValid(filter.Target))
        {
            return AclDecision.Deny("device subscriptions name one device: device/{deviceId}/telemetry/# or device/{deviceId}/state");
        }

        var (first, remainder) = DeviceTopics.Split(filter.Rest);
        return first == DeviceTopics.Telemetry || filter.Rest == DeviceTopics.State || filter.Rest == "#"
            || first == DeviceTopics.CommandRequests && remainder.Length > 0 && !remainder.Contains('/', StringComparison.Ordinal) // commands/+, commands/#, commands/{id}
            ? AclDecision.Allow
            : AclDecision.Deny("only device/{id}/telemetry[/…], device/{id}/state and device/{id}/commands/+ are open to a device's owners");
    }

    /// <summary>Users (the device's owners, checked when the request is handled) issue commands on <c>device/{id}/commands</c> and cancel on <c>…/commands/{commandId}/cancel</c>.</summary>
    public static AclDecision CheckUserPublish(in ParsedTopic topic)
    {
        var (first, remainder) = DeviceTopics.Split(topic.Rest);
        return UserIds.IsValid(topic.Target) && first == DeviceTopics.CommandRequests && (remainder.Length == 0 || DeviceTopics.CommandIdOfCancel(remainder) is not null)
            ? AclDecision.Allow
            : AclDecision.Deny("users publish on device/… only to issue a command (device/{id}/commands) or cancel one (device/{id}/commands/{commandId}/cancel)");
    }

    private static bool IsReply(string remainder)
    {
        var slash = remainder.IndexOf('/');
        return slash > 0 && remainder[(slash + 1)..] == "reply";
    }
}
