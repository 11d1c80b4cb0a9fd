using System.Text.Json;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Every state a command enters, published on <c>device/{id}/commands/{commandId}</c> to the device's watchers (owners
/// subscribed to <c>device/{id}/commands/+</c>) on this node and, through the cluster bus, on every other node.
/// </summary>
internal sealed class CommandEvents(DeviceWatchers watchers, IIotClusterBus bus, ILogger<CommandEvents> logger)
{
    public static string TopicOf(string deviceId, string commandId) => $"device/{deviceId}/commands/{commandId}";

    public async Task PublishAsync(CommandRecord command)
    {
        if (bus is LocalIotBus && !watchers.Watches(command.DeviceId))
        {
            return; // single node and nobody watches this device: no event to encode or queue
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(new
        {
            commandId = command.CommandId,
            deviceId = command.DeviceId,
            seq = command.Seq,
            name = command.Name,
            state = CommandStateNames.Of(command.State),
            atMs = command.StateSinceMs,
            detail = command.History.Count > 0 ? command.History[^1].Detail : null,
            attempts = command.Attempts,
            issuedBy = command.IssuedBy,
            result = command.Result is null ? (JsonElement?)null : ResultJson(command.Result),
        });
        ForwardLocally(command.DeviceId, command.CommandId, payload);
        try
        {
            await bus.CommandChangedAsync(command.DeviceId, command.CommandId, !command.IsOpen, payload).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The state is stored; watchers on other nodes miss this one event and can read it over HTTP or RPC.
            logger.LogWarning(ex, "Command {CommandId}: the state event could not reach the other nodes", command.CommandId);
        }
    }

    /// <summary>Queues the event to this node's watchers of the device (also for events from other nodes).</summary>
    public void ForwardLocally(string deviceId, string commandId, byte[] payload) => watchers.Forward(deviceId, new Downlink(TopicOf(deviceId, commandId), payload));

    private static JsonElement ResultJson(string result)
    {
        try
        {
            using var document = JsonDocument.Parse(result);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(result);
        }
    }
}
