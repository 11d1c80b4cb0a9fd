using System.Buffers;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Devices;

/// <summary><c>device/{id}/telemetry[/…]</c> from the device itself: size check, group-committed store, then forwarded to watchers.</summary>
internal sealed class TelemetryIngest(TelemetryCommitQueue queue, TelemetryIds ids, DeviceWatchers watchers, DevicePresence presence, IOptions<IotOptions> options, TimeProvider clock)
{
    public async Task<UplinkVerdict> HandleAsync(UplinkPublish publish, string deviceId, string subtopic)
    {
        if (publish.Payload.Length > options.Value.MaxTelemetryBytes)
        {
            return UplinkVerdict.Rejected(DeviceRejections.TooLarge(
                $"telemetry payload of {publish.Payload.Length} bytes exceeds Iot:MaxTelemetryBytes ({options.Value.MaxTelemetryBytes})"));
        }

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var point = new TelemetryPoint(deviceId, ids.Next(now), now, subtopic, publish.ContentType ?? "", publish.Payload.ToArray());
        try
        {
            await queue.AppendAsync(point).ConfigureAwait(false);
        }
        catch (Exception)
        {
            return UplinkVerdict.Rejected(DeviceRejections.NotStored("telemetry could not be stored; send it again"));
        }

        presence.Touch(deviceId);
        watchers.Forward(deviceId, new Downlink(publish.Topic, point.Payload, publish.ContentType)
        {
            AtMostOnce = publish.AtMostOnce,
            UserProperties = [new("receivedMs", now.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        });
        return UplinkVerdict.Accepted();
    }
}
