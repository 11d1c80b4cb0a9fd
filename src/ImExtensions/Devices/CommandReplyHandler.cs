using System.Text.Json;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// <c>device/{id}/cmd/{commandId}/reply</c> from the device: <c>{"status":"succeeded|failed|rejected","result":…,"message":…}</c>
/// (status defaults to succeeded). A reply that overtakes the PUBACK of its command also counts as its delivery.
/// </summary>
internal sealed class CommandReplyHandler(CommandOutcomes outcomes, CommandDispatcher dispatcher, DevicePresence presence, ILogger<CommandReplyHandler> logger)
{
    public async Task<UplinkVerdict> HandleAsync(UplinkPublish publish, string deviceId, string commandId)
    {
        presence.Touch(deviceId);
        if (!TryRead(publish.Payload, out var state, out var result, out var message))
        {
            return Refuse(deviceId, UplinkRejection.InvalidPayload("""a reply is JSON: {"status":"succeeded|failed|rejected","result":…,"message":"…"}"""));
        }

        // Both in one commit; the PUBACK of this reply goes out once its state is stored.
        var moved = await outcomes.MoveTwiceAsync(commandId,
            new CommandOutcomes.Move([CommandState.Sent], CommandState.Delivered, "implied by the reply", null),
            new CommandOutcomes.Move([CommandState.Delivered], state, message, result)).ConfigureAwait(false);
        if (moved is null)
        {
            return Refuse(deviceId, DeviceRejections.WrongState($"command {commandId} is not awaiting a reply (unknown, final, or not this device's)"));
        }

        if (moved.DeviceId != deviceId)
        {
            // Unreachable through the ACL (a device publishes only below its own id); kept as a guard.
            return Refuse(deviceId, UplinkRejection.NotAuthorized("not this device's command"));
        }

        if (moved.State == CommandState.Queued)
        {
            await dispatcher.FlushAsync(deviceId, publish.CancellationToken).ConfigureAwait(false);
        }

        return UplinkVerdict.Accepted();
    }

    private UplinkVerdict Refuse(string deviceId, in UplinkRejection rejection)
    {
        DeviceLog.ReplyRefused(logger, deviceId, rejection.Message);
        return UplinkVerdict.Rejected(rejection);
    }

    private static bool TryRead(System.Buffers.ReadOnlySequence<byte> payload, out CommandState state, out string? result, out string? message)
    {
        state = CommandState.Succeeded;
        result = null;
        message = null;
        if (payload.Length == 0)
        {
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(payload);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                result = document.RootElement.GetRawText();
                return true;
            }

            if (document.RootElement.TryGetProperty("status", out var status))
            {
                switch (status.GetString())
                {
                    case "succeeded" or "success" or "ok":
                        state = CommandState.Succeeded;
                        break;
                    case "failed":
                        state = CommandState.Failed;
                        break;
                    case "rejected":
                        state = CommandState.Rejected;
                        break;
                    default:
                        return false;
                }
            }

            result = document.RootElement.TryGetProperty("result", out var value) ? value.GetRawText() : null;
            message = document.RootElement.TryGetProperty("message", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
