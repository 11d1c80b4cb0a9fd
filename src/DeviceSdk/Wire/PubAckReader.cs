using System.Globalization;
using MQTTnet;
using MQTTnet.Packets;
using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Wire;

/// <summary>Reads the <c>SendAck</c> an MQTT 5 broker puts into the PUBACK user properties of an accepted send.</summary>
internal static class PubAckReader
{
    public static bool TryRead(MqttClientPublishResult result, string clientMsgId, out SendAck ack)
    {
        ack = new SendAck { ClientMsgId = clientMsgId };
        var found = 0;
        foreach (var property in result.UserProperties ?? [])
        {
            var value = property.ReadValueAsString();
            switch (property.Name)
            {
                case "conversation_id":
                    ack.ConversationId = value;
                    found++;
                    break;
                case "seq" when long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seq):
                    ack.Seq = seq;
                    found++;
                    break;
                case "server_msg_id":
                    ack.ServerMsgId = value;
                    break;
                case "server_time_ms" when long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var time):
                    ack.ServerTimeMs = time;
                    break;
                case "duplicate":
                    ack.Duplicate = string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
                    break;
            }
        }

        // A usable ack names at least the conversation and the seq.
        return found == 2;
    }
}
