using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>The downlink a device receives on <c>device/{id}/cmd/{commandId}</c> (QoS 1; MQTT 5 adds ResponseTopic and CorrelationData).</summary>
internal static class CommandMessages
{
    public static MqttApplicationMessage For(CommandRecord command, bool mqtt5)
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

        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(DeviceTopics.Command(command.DeviceId, command.CommandId))
            .WithPayload(buffer.WrittenMemory.ToArray())
            .WithContentType("application/json")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (mqtt5)
        {
            builder.WithResponseTopic(DeviceTopics.Reply(command.DeviceId, command.CommandId))
                .WithCorrelationData(Encoding.UTF8.GetBytes(command.CommandId))
                .WithUserProperty("seq", Encoding.UTF8.GetBytes(command.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture)).AsMemory());
        }

        return builder.Build();
    }
}
