using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Topics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// SUBSCRIBE on <c>device/…</c> (after the ACL's shape check). Granted without MQTTnet storing them, like inboxes: a device's
/// command subscription becomes its <see cref="CommandRoute"/>; an owner's telemetry/state subscription a watch. Hooks
/// answers the SUBACK and hands in the way into the subscriber's session.
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

    /// <summary>Null when granted (QoS 1), otherwise the reason for refusing.</summary>
    public async Task<string?> SubscribeAsync(ConnectedDevice subscriber, ParsedTopic filter, string topicFilter, IDeviceChannel channel, CancellationToken cancellationToken)
    {
        if (subscriber.IsIotDevice)
        {
            _persistentCommandSubscriptions[subscriber.ClientId] = true;
            routes.Set(new CommandRoute(subscriber.UserId, subscriber.ConnectionKey, subscriber.IsMqtt5, channel));
            FlushInBackground(subscriber.UserId);
            return null;
        }

        if (!await access.MayWatchAsync(subscriber.UserId, filter.Target, cancellationToken).ConfigureAwait(false))
        {
            return $"user {subscriber.UserId} is not an owner of device {filter.Target} (or it does not exist)";
        }

        watchers.Add(subscriber.ClientId, filter.Target, topicFilter, channel);
        if (TopicFilter.Matches(DeviceTopics.StateOf(filter.Target), topicFilter))
        {
            channel.TryPublish(DevicePresence.MessageOf(presence.Get(filter.Target)));
        }

        return null;
    }

    public void Unsubscribe(string clientId, ParsedTopic filter, string topicFilter) => watchers.Remove(clientId, filter.Target, topicFilter);

    /// <summary>Whether this client's persistent session had subscribed to its commands (MQTTnet never stored it).</summary>
    public bool HadCommandSubscription(string clientId) => _persistentCommandSubscriptions.ContainsKey(clientId);

    /// <summary>A resumed persistent session of a device that had subscribed to its commands gets its route (and queue) back.</summary>
    public void Restore(ConnectedDevice device, IDeviceChannel channel)
    {
        routes.Set(new CommandRoute(device.UserId, device.ConnectionKey, device.IsMqtt5, channel));
        FlushInBackground(device.UserId);
    }

    public void ForgetSession(string clientId)
    {
        _persistentCommandSubscriptions.TryRemove(clientId, out _);
        watchers.RemoveClient(clientId);
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
