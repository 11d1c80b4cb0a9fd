using System.Text.Json;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Topics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Commands issued over MQTT by a user granted the device, with the same states, limits and ACL as
/// <c>POST /api/devices/{id}/commands</c>: PUBLISH <c>device/{id}/commands</c> with the same JSON body; the PUBACK carries
/// the command id and seq (MQTT 5 user properties); each state then arrives on <c>device/{id}/commands/{commandId}</c>
/// for the device's watchers. <c>device/{id}/commands/{commandId}/cancel</c> cancels.
/// </summary>
internal sealed class CommandRequests(DeviceAccess access, CommandService commands)
{
    public async Task<UplinkVerdict> HandleAsync(UplinkPublish publish, ConnectedDevice user, ParsedTopic topic)
    {
        var deviceId = topic.Target;
        if (!await access.MayAccessAsync(user.UserId, deviceId, publish.CancellationToken).ConfigureAwait(false))
        {
            return UplinkVerdict.Rejected(UplinkRejection.NotAuthorized($"user {user.UserId} is not an owner of device {deviceId} (or it does not exist)"));
        }

        var (_, remainder) = DeviceTopics.Split(topic.Rest);
        if (remainder.Length > 0)
        {
            return await CancelAsync(publish, deviceId, DeviceTopics.CommandIdOfCancel(remainder)!).ConfigureAwait(false);
        }

        if (!TryRead(publish.Payload, out var request))
        {
            return UplinkVerdict.Rejected(UplinkRejection.InvalidPayload(
                """a command request is JSON: {"name":"…","payload":{…},"expirySeconds":N,"timeoutSeconds":N,"maxRetries":N}"""));
        }

        var (command, refusal, reason) = await commands.IssueAsync(deviceId, request, user.UserId, publish.CancellationToken).ConfigureAwait(false);
        return refusal switch
        {
            CommandRefusal.None => UplinkVerdict.Accepted(
            [
                new("commandId", command!.CommandId),
                new("seq", command.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("state", CommandStateNames.Of(command.State)),
            ]),
            CommandRefusal.UnknownDevice => UplinkVerdict.Rejected(UplinkRejection.InvalidTopic(reason!)),
            CommandRefusal.Invalid => UplinkVerdict.Rejected(UplinkRejection.InvalidPayload(reason!)),
            CommandRefusal.QueueFull => UplinkVerdict.Rejected(DeviceRejections.QueueFull(reason!)),
            _ => throw new InvalidOperationException("unknown command refusal " + refusal),
        };
    }

    private async Task<UplinkVerdict> CancelAsync(UplinkPublish publish, string deviceId, string commandId)
    {
        var current = await commands.GetAsync(commandId, publish.CancellationToken).ConfigureAwait(false);
        if (current is null || current.DeviceId != deviceId)
        {
            return UplinkVerdict.Rejected(UplinkRejection.InvalidTopic($"device {deviceId} has no command {commandId}"));
        }

        return await commands.CancelAsync(commandId, publish.CancellationToken).ConfigureAwait(false) is null
            ? UplinkVerdict.Rejected(DeviceRejections.WrongState($"command {commandId} is already {CommandStateNames.Of(current.State)}"))
            : UplinkVerdict.Accepted();
    }

    private static bool TryRead(System.Buffers.ReadOnlySequence<byte> payload, out CommandRequest request)
    {
        request = null!;
        try
        {
            var reader = new Utf8JsonReader(payload);
            var body = JsonSerializer.Deserialize<Body>(ref reader, JsonOptions);
            if (body is null)
            {
                return false;
            }

            request = new CommandRequest(body.Name ?? "", body.Payload, body.ExpirySeconds, body.TimeoutSeconds, body.MaxRetries);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private sealed record Body(string? Name, JsonElement? Payload, int? ExpirySeconds, int? TimeoutSeconds, int? MaxRetries);
}
