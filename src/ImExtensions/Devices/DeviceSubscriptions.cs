using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Topics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// SUBSCRIBE on <c>device/…</c> (after the ACL's shape check). Granted without MQTTnet storing them, like inboxes: a device's
/// command subscription becomes its <see cref="CommandRoute"/>; an owner's telemetry/state subscription a watch.
/// </summary>
internal sealed class DeviceSubscriptions(
    DeviceWatchGate access,
    DeviceWatchers watchers,
    DevicePresence presence,
    CommandRoutes routes,
    CommandDispatcher dispatcher,
    ILogger<DeviceSubscriptions> logger)
{
    /// <summary>Devices whose persistent session subscribed to commands: MQTTnet never stored it, so it is restored on resume.</summary>
    private readonly ConcurrentDictionary<string, bool> _persistentCommandSubscriptions = new(StringComparer.Ordinal);

    /// <summary>Null when granted, otherwise the reason for refusing.</summary>
    public async Task<string?> SubscribeAsync(InterceptingSubscriptionEventArgs args, ConnectedDevice subscriber, ParsedTopic filter)
    {
        if (subscriber.IsIotDevice)
        {
            Grant(args);
            _persistentCommandSubscriptions[subscriber.ClientId] = true;
            routes.Set(new CommandRoute(subscriber.UserId, subscriber.ConnectionKey, subscriber.IsMqtt5, new MqttSessionChannel(args.Session)));
            FlushInBackground(subscriber.UserId);
            return null;
        }

        if (!await access.MayWatchAsync(subscriber.UserId, filter.Target, args.CancellationToken).ConfigureAwait(false))
        {
            return $"user {subscriber.UserId} is not an owner of device {filter.Target} (or it does not exist)";
        }

        Grant(args);
        var channel = new MqttSessionChannel(args.Session);
        watchers.Add(subscriber.ClientId, filter.Target, args.TopicFilter.Topic, channel);
        var state = presence.Get(filter.Target);
        if (MQTTnet.MqttTopicFilterComparer.Compare(DeviceTopics.StateOf(filter.Target), args.TopicFilter.Topic) == MQTTnet.MqttTopicFilterCompareResult.IsMatch)
        {
            channel.TryPublish(DevicePresence.MessageOf(state));
        }

        return null;
    }

    public void Unsubscribe(InterceptingUnsubscriptionEventArgs args, ParsedTopic filter)
    {
        args.ProcessUnsubscription = false;
        args.Response.ReasonCode = MqttUnsubscribeReasonCode.Success;
        watchers.Remove(args.ClientId, filter.Target, args.Topic);
    }

    /// <summary>A resumed persistent session of a device that had subscribed to its commands gets its route (and queue) back.</summary>
    public async Task RestoreAsync(ConnectedDevice device, MqttServer server)
    {
        if (_persistentCommandSubscriptions.ContainsKey(device.ClientId) && await server.GetSessionAsync(device.ClientId).ConfigureAwait(false) is { } session)
        {
            routes.Set(new CommandRoute(device.UserId, device.ConnectionKey, device.IsMqtt5, new MqttSessionChannel(session)));
            FlushInBackground(device.UserId);
        }
    }

    public void ForgetSession(string clientId)
    {
        _persistentCommandSubscriptions.TryRemove(clientId, out _);
        watchers.RemoveClient(clientId);
    }

    private static void Grant(InterceptingSubscriptionEventArgs args)
    {
        args.ProcessSubscription = false;
        args.Response.ReasonCode = MqttSubscribeReasonCode.GrantedQoS1;
    }

    // After the SUBACK is on its way: the hook returns first, so the device sees its SUBACK before its queued commands.
    private void FlushInBackground(string deviceId) => _ = Task.Run(async () =>
    {
        try
        {
            await dispatcher.FlushAsync(deviceId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Sending queued commands to device {DeviceId} failed; they are sent on its next connect", deviceId);
        }
    });
}
