using System.Text.Json;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Topics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// PUBLISH on <c>device/{id}/…</c> (the ACL allowed it): by the device, telemetry, alerts, command replies and sync requests; by a
/// user, command requests (<see cref="CommandRequests"/>).
/// </summary>
internal sealed class DeviceUplinks(TelemetryIngest telemetry, CommandReplyHandler replies, CommandDispatcher dispatcher, CommandRequests requests, DeviceAlerts alerts)
{
    public Task HandleAsync(InterceptingPublishEventArgs args, ConnectedDevice device, ParsedTopic topic)
    {
        args.ProcessPublish = false;
        if (!device.IsIotDevice)
        {
            return requests.HandleAsync(args, device, topic);
        }

        var (first, remainder) = DeviceTopics.Split(topic.Rest);
        switch (first)
        {
            case DeviceTopics.Telemetry:
                return telemetry.HandleAsync(args, device.UserId, remainder);
            case DeviceTopics.Commands:
                return replies.HandleAsync(args, device.UserId, remainder[..remainder.IndexOf('/')]);
            case DeviceTopics.Sync:
                return SyncAsync(args, device.UserId);
            case DeviceTopics.Alert:
                return alerts.HandleAsync(args, device.UserId);
            default:
                args.Response.ReasonCode = MqttPubAckReasonCode.TopicNameInvalid;
                return Task.CompletedTask;
        }
    }

    /// <summary><c>{"afterSeq":N}</c>: every open command after seq N is sent again (a device that saw a gap or lost its state).</summary>
    private async Task SyncAsync(InterceptingPublishEventArgs args, string deviceId)
    {
        long afterSeq = 0;
        try
        {
            if (args.ApplicationMessage.Payload.Length > 0)
            {
                var reader = new Utf8JsonReader(args.ApplicationMessage.Payload);
                using var document = JsonDocument.ParseValue(ref reader);
                afterSeq = document.RootElement.TryGetProperty("afterSeq", out var value) ? value.GetInt64() : 0;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            args.Response.ReasonCode = MqttPubAckReasonCode.PayloadFormatInvalid;
            args.Response.ReasonString = """sync is {"afterSeq":N}""";
            return;
        }

        await dispatcher.ResendAsync(deviceId, afterSeq, args.CancellationToken).ConfigureAwait(false);
    }
}
