using System.Text;
using System.Text.Json;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>The downlink a device receives on <c>device/{id}/cmd/{commandId}</c> (QoS 1; MQTT 5 adds ResponseTopic and CorrelationData).</summary>
internal static class CommandMessages
{
    public static Downlink For(CommandRecord command, bool mqtt5)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("commandId", command.CommandId);
            json.WriteString("deviceId", command.DeviceId);
            json.WriteNumber("seq", command.Seq);
            json.WriteString("name", command.Name);
            json.WritePropertyName("payload");
            json.WriteRawValue(command.Payload);
            json.WriteNumber("expiresAtMs", command.ExpiresAtMs);
            json.WriteNumber("timeoutMs", command.TimeoutMs);
            json.WriteNumber("attempt", command.Attempts);
            json.WriteEndObject();
        }

        var topic = DeviceTopics.Command(command.DeviceId, command.CommandId);
        var payload = buffer.WrittenMemory.ToArray();
        return !mqtt5 ? new Downlink(topic, payload) : new Downlink(topic, payload)
        {
            ResponseTopic = DeviceTopics.Reply(command.DeviceId, command.CommandId),
            CorrelationData = Encoding.UTF8.GetBytes(command.CommandId),
            UserProperties = [new("seq", command.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        };
    }
}
