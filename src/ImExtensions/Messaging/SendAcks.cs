using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Messaging;

internal static class SendAcks
{
    public static SendAck From(ChatMessage message, bool duplicate) => new()
    {
        ClientMsgId = message.ClientMsgId,
        ConversationId = message.ConversationId,
        Seq = message.Seq,
        ServerMsgId = message.ServerMsgId,
        ServerTimeMs = message.ServerTimeMs,
        Duplicate = duplicate,
    };
}
