using System.Text.Json;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Devices.Storage;
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
    public async Task HandleAsync(InterceptingPublishEventArgs args, ConnectedDevice user, ParsedTopic topic)
    {
        args.ProcessPublish = false;
        var deviceId = topic.Target;
        if (!await access.MayAccessAsync(user.UserId, deviceId, args.CancellationToken).ConfigureAwait(false))
        {
            Refuse(args, MqttPubAckReasonCode.NotAuthorized, $"user {user.UserId} is not an owner of device {deviceId} (or it does not exist)");
            return;
        }

        var (_, remainder) = DeviceTopics.Split(topic.Rest);
        if (remainder.Length > 0)
        {
            await CancelAsync(args, deviceId, DeviceTopics.CommandIdOfCancel(remainder)!).ConfigureAwait(false);
            return;
        }

        if (!TryRead(args.ApplicationMessage.Payload, out var request))
        {
            Refuse(args, MqttPubAckReasonCode.PayloadFormatInvalid,
                """a command request is JSON: {"name":"…","payload":{…},"expirySeconds":N,"timeoutSeconds":N,"maxRetries":N}""");
            return;
        }

        var (command, refusal, reason) = await commands.IssueAsync(deviceId, request, user.UserId, args.CancellationToken).ConfigureAwait(false);
        switch (refusal)
        {
            case CommandRefusal.None:
                args.Response.UserProperties =
                [
                    Property("commandId", command!.CommandId),
                    Property("seq", command.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    Property("state", CommandStateNames.Of(command.State)),
                ];
                break;
            case CommandRefusal.UnknownDevice:
                Refuse(args, MqttPubAckReasonCode.TopicNameInvalid, reason!);
                break;
            case CommandRefusal.Invalid:
                Refuse(args, MqttPubAckReasonCode.PayloadFormatInvalid, reason!);
                break;
            case CommandRefusal.QueueFull:
                Refuse(args, MqttPubAckReasonCode.QuotaExceeded, reason!);
                break;
        }
    }

    private async Task CancelAsync(InterceptingPublishEventArgs args, string deviceId, string commandId)
    {
        var current = await commands.GetAsync(commandId, args.CancellationToken).ConfigureAwait(false);
        if (current is null || current.DeviceId != deviceId)
        {
            Refuse(args, MqttPubAckReasonCode.TopicNameInvalid, $"device {deviceId} has no command {commandId}");
            return;
        }

        if (await commands.CancelAsync(commandId, args.CancellationToken).ConfigureAwait(false) is null)
        {
            Refuse(args, MqttPubAckReasonCode.ImplementationSpecificError, $"command {commandId} is already {CommandStateNames.Of(current.State)}");
        }
    }

    private static MqttUserProperty Property(string name, string value) => new(name, System.Text.Encoding.UTF8.GetBytes(value));

    private static void Refuse(InterceptingPublishEventArgs args, MqttPubAckReasonCode code, string reason)
    {
        args.Response.ReasonCode = code;
        args.Response.ReasonString = reason;
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
