using MQTTnet;
using MQTTnet.Server;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>Publishes to exactly one client's session (RPC responses), whether or not it subscribed to its inbox.</summary>
internal sealed class DirectSessionPublisher(MqttServer server)
{
    public async ValueTask<bool> PublishAsync(string clientId, MqttApplicationMessage message)
    {
        var session = await server.GetSessionAsync(clientId).ConfigureAwait(false);
        return session is not null && session.TryEnqueueApplicationMessage(message, out _);
    }
}
