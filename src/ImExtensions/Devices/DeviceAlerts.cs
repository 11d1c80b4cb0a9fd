using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Notifications;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// <c>device/{id}/alert</c> from the device: <c>{"severity":"critical|warning|info","priority"?:0-3,"title"?,"text"?,"data"?:{…}}</c>
/// becomes a notification to every owner (users, and members of owner groups) in their <c>notify:{userId}</c>
/// conversation. So an online owner gets it live, and an owner with no online device gets a push job with the alert's
/// priority (critical = P0: immediate, through quiet hours). The PUBACK goes out once every owner's copy is stored.
/// </summary>
internal sealed class DeviceAlerts(
    IDeviceStore devices,
    DeviceAccess access,
    NotificationService notifications,
    DevicePresence presence,
    IOptions<IotOptions> options,
    TimeProvider clock,
    ILogger<DeviceAlerts> logger)
{
    public const string NotificationType = "device_alert";
    public const int MaxTitleLength = 100;
    public const int MaxTextLength = 1000;
    private const string Shape = """an alert is JSON: {"severity":"critical|warning|info","priority":0-3,"title":"…","text":"…","data":{"key":"value"}}""";

    private readonly ConcurrentDictionary<string, (long WindowStart, int Count)> _recent = new(StringComparer.Ordinal);

    public async Task<UplinkVerdict> HandleAsync(UplinkPublish publish, string deviceId)
    {
        presence.Touch(deviceId);
        if (publish.Payload.Length > options.Value.MaxAlertBytes)
        {
            return Refuse(deviceId, DeviceRejections.TooLarge($"an alert is at most Iot:MaxAlertBytes ({options.Value.MaxAlertBytes}) bytes"));
        }

        if (Read(publish.Payload) is not { } alert)
        {
            return Refuse(deviceId, UplinkRejection.InvalidPayload(Shape));
        }

        if (!TryCount(deviceId))
        {
            return Refuse(deviceId, UplinkRejection.RateLimited($"more than Iot:MaxAlertsPerMinute ({options.Value.MaxAlertsPerMinute}) alerts in a minute"));
        }

        var device = await devices.GetAsync(deviceId, publish.CancellationToken).ConfigureAwait(false);
        IReadOnlyCollection<string> owners = device is null ? [] : await access.OwnerUsersAsync(device, publish.CancellationToken).ConfigureAwait(false);
        if (owners.Count == 0)
        {
            return Refuse(deviceId, DeviceRejections.NoOwner("the device has no owner to alert"));
        }

        var data = new Dictionary<string, string>(alert.Data, StringComparer.Ordinal)
        {
            ["deviceId"] = deviceId,
            ["severity"] = alert.Severity,
        };
        try
        {
            await notifications.SendAsync(new NotificationRequest([.. owners], null, alert.Priority, NotificationType,
                alert.Title ?? $"{deviceId}: {alert.Severity}", alert.Text, data), publish.CancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            return Refuse(deviceId, DeviceRejections.Undeliverable("the alert cannot reach its owners: " + ex.Message));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Alert of device {DeviceId} could not be stored for its owners", deviceId);
            return Refuse(deviceId, DeviceRejections.NotStored("the alert could not be stored; send it again"));
        }

        DeviceMetrics.Alerts.WithLabels("p" + alert.Priority).Inc();
        return UplinkVerdict.Accepted();
    }

    /// <summary>Severity names the default priority; an explicit priority wins.</summary>
    private static Alert? Read(System.Buffers.ReadOnlySequence<byte> payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var severity = root.TryGetProperty("severity", out var s) ? s.GetString() ?? "" : "warning";
            int? fromSeverity = severity switch
            {
                "critical" => 0,
                "warning" => 1,
                "info" => 2,
                _ => null,
            };
            var priority = root.TryGetProperty("priority", out var p) ? p.GetInt32() : fromSeverity;
            var title = root.TryGetProperty("title", out var t) ? t.GetString() : null;
            var text = root.TryGetProperty("text", out var x) ? x.GetString() : null;
            if (priority is not (>= 0 and <= 3) || fromSeverity is null || title?.Length > MaxTitleLength || text?.Length > MaxTextLength)
            {
                return null;
            }

            var data = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("data", out var d))
            {
                if (d.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                foreach (var field in d.EnumerateObject())
                {
                    data[field.Name] = field.Value.ValueKind == JsonValueKind.String ? field.Value.GetString()! : field.Value.GetRawText();
                }
            }

            return new Alert(severity, priority.Value, title, text ?? "", data);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A fixed one-minute window per device: a device stuck in a loop must not flood its owners' phones.</summary>
    private bool TryCount(string deviceId)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var limit = options.Value.MaxAlertsPerMinute;
        var allowed = true;
        _recent.AddOrUpdate(deviceId, _ => (now, 1), (_, current) =>
        {
            if (now - current.WindowStart >= 60_000)
            {
                allowed = true;
                return (now, 1);
            }

            allowed = current.Count < limit;
            return allowed ? (current.WindowStart, current.Count + 1) : current;
        });
        return allowed;
    }

    private UplinkVerdict Refuse(string deviceId, in UplinkRejection rejection)
    {
        DeviceLog.AlertRefused(logger, deviceId, rejection.Message);
        return UplinkVerdict.Rejected(rejection);
    }

    private sealed record Alert(string Severity, int Priority, string? Title, string Text, IReadOnlyDictionary<string, string> Data);
}
