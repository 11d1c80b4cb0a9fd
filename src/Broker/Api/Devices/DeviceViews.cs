using System.Text;
using System.Text.Json;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.Broker.Api.Devices;

/// <summary>The JSON shapes of the device API (docs/PROTOCOL.md "Devices").</summary>
internal static class DeviceViews
{
    public static object Device(DeviceRecord device, DeviceState state) => new
    {
        deviceId = device.DeviceId,
        disabled = device.Disabled,
        owners = device.Owners,
        createdMs = device.CreatedMs,
        secretChangedMs = device.SecretChangedMs,
        online = state.Online,
        lastSeenMs = state.LastSeenMs,
    };

    public static object State(DeviceState state) => new { deviceId = state.DeviceId, online = state.Online, lastSeenMs = state.LastSeenMs, changedMs = state.ChangedMs };

    public static object Command(CommandRecord command) => new
    {
        commandId = command.CommandId,
        deviceId = command.DeviceId,
        seq = command.Seq,
        name = command.Name,
        payload = Json(command.Payload),
        state = CommandStateNames.Of(command.State),
        createdMs = command.CreatedMs,
        expiresAtMs = command.ExpiresAtMs,
        timeoutMs = command.TimeoutMs,
        attempts = command.Attempts,
        maxRetries = command.MaxRetries,
        issuedBy = command.IssuedBy,
        result = command.Result is null ? (JsonElement?)null : Json(command.Result),
        history = command.History.Select(h => new { state = CommandStateNames.Of(h.State), atMs = h.AtMs, detail = h.Detail }),
    };

    /// <summary>JSON payloads inline, anything else as base64.</summary>
    public static object Point(TelemetryPoint point)
    {
        JsonElement? json = null;
        try
        {
            using var document = JsonDocument.Parse(point.Payload);
            json = document.RootElement.Clone();
        }
        catch (JsonException)
        {
        }

        return json is { } value
            ? new { id = point.Id, receivedMs = point.ReceivedMs, subtopic = point.Subtopic, contentType = point.ContentType, payload = (object)value }
            : new { id = point.Id, receivedMs = point.ReceivedMs, subtopic = point.Subtopic, contentType = point.ContentType, payloadBase64 = (object)Convert.ToBase64String(point.Payload) };
    }

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(Encoding.UTF8.GetBytes(text));
        return document.RootElement.Clone();
    }
}
