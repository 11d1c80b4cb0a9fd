using System.Text.Json;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Topics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// PUBLISH on <c>device/{id}/…</c> (the ACL allowed it): by the device, telemetry, alerts, command replies and sync requests; by a
/// user, command requests (<see cref="CommandRequests"/>). Each returns a verdict that Hooks writes into the PUBACK.
/// </summary>
internal sealed class DeviceUplinks(TelemetryIngest telemetry, CommandReplyHandler replies, CommandDispatcher dispatcher, CommandRequests requests, DeviceAlerts alerts)
{
    private static readonly Task<UplinkVerdict> UnknownTopic =
        Task.FromResult(UplinkVerdict.Rejected(UplinkRejection.InvalidTopic("a device publishes on telemetry[/…], cmd/{commandId}/reply, sync or alert")));

    public Task<UplinkVerdict> HandleAsync(UplinkPublish publish, ConnectedDevice device, ParsedTopic topic)
    {
        if (!device.IsIotDevice)
        {
            return requests.HandleAsync(publish, device, topic);
        }

        var (first, remainder) = DeviceTopics.Split(topic.Rest);
        return first switch
        {
            DeviceTopics.Telemetry => telemetry.HandleAsync(publish, device.UserId, remainder),
            DeviceTopics.Commands => replies.HandleAsync(publish, device.UserId, remainder[..remainder.IndexOf('/')]),
            DeviceTopics.Sync => SyncAsync(publish, device.UserId),
            DeviceTopics.Alert => alerts.HandleAsync(publish, device.UserId),
            _ => UnknownTopic,
        };
    }

    /// <summary><c>{"afterSeq":N}</c>: every open command after seq N is sent again (a device that saw a gap or lost its state).</summary>
    private async Task<UplinkVerdict> SyncAsync(UplinkPublish publish, string deviceId)
    {
        long afterSeq = 0;
        try
        {
            if (publish.Payload.Length > 0)
            {
                var reader = new Utf8JsonReader(publish.Payload);
                using var document = JsonDocument.ParseValue(ref reader);
                afterSeq = document.RootElement.TryGetProperty("afterSeq", out var value) ? value.GetInt64() : 0;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return UplinkVerdict.Rejected(UplinkRejection.InvalidPayload("""sync is {"afterSeq":N}"""));
        }

        await dispatcher.ResendAsync(deviceId, afterSeq, publish.CancellationToken).ConfigureAwait(false);
        return UplinkVerdict.Accepted();
    }
}
