using MQTTnet;
using MQTTnet.Server;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>Enqueues straight into one MQTTnet session, skipping MQTTnet's walk over every subscribed session.</summary>
internal sealed class MqttSessionChannel(MqttSessionStatus session) : ISessionQueue
{
    public long PendingMessages => session.PendingApplicationMessagesCount;

    public bool TryPublish(MqttApplicationMessage message) => session.TryEnqueueApplicationMessage(message, out _);
}
