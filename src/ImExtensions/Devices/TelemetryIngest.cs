using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary><c>device/{id}/telemetry[/…]</c> from the device itself: size check, group-committed store, then forwarded to watchers.</summary>
internal sealed class TelemetryIngest(TelemetryCommitQueue queue, TelemetryIds ids, DeviceWatchers watchers, DevicePresence presence, IOptions<IotOptions> options, TimeProvider clock)
{
    public async Task HandleAsync(InterceptingPublishEventArgs args, string deviceId, string subtopic)
    {
        args.ProcessPublish = false;
        var message = args.ApplicationMessage;
        if (message.Payload.Length > options.Value.MaxTelemetryBytes)
        {
            args.Response.ReasonCode = MqttPubAckReasonCode.QuotaExceeded;
            args.Response.ReasonString = $"telemetry payload of {message.Payload.Length} bytes exceeds Iot:MaxTelemetryBytes ({options.Value.MaxTelemetryBytes})";
            return;
        }

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var point = new TelemetryPoint(deviceId, ids.Next(now), now, subtopic, message.ContentType ?? "", System.Buffers.BuffersExtensions.ToArray(message.Payload));
        try
        {
            await queue.AppendAsync(point).ConfigureAwait(false);
        }
        catch (Exception)
        {
            args.Response.ReasonCode = MqttPubAckReasonCode.ImplementationSpecificError;
            args.Response.ReasonString = "telemetry could not be stored; send it again";
            return;
        }

        presence.Touch(deviceId);
        var forwarded = new MqttApplicationMessageBuilder()
            .WithTopic(message.Topic)
            .WithPayload(point.Payload)
            .WithContentType(message.ContentType)
            .WithQualityOfServiceLevel(message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce)
            .WithUserProperty("receivedMs", System.Text.Encoding.UTF8.GetBytes(now.ToString(System.Globalization.CultureInfo.InvariantCulture)).AsMemory())
            .Build();
        watchers.Forward(deviceId, forwarded);
    }
}
