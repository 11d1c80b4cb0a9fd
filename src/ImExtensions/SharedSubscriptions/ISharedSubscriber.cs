namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>How one copy of a message reaches the chosen member.</summary>
/// <param name="Qos">The smaller of the published QoS and the QoS granted to the member's subscription.</param>
/// <param name="SubscriptionId">The member's Subscription Identifier for this shared subscription (MQTT 5), 0 for none.</param>
/// <param name="Retain">The message's retain flag when the subscription asked for Retain As Published; false otherwise.</param>
public readonly record struct SharedDelivery(int Qos, uint SubscriptionId, bool Retain);

/// <summary>One member's session, as the shared subscription registry delivers into it (an MQTTnet session in the broker).</summary>
public interface ISharedSubscriber<in TMessage>
{
    /// <summary>Enqueues a copy of <paramref name="message"/> into the session; <paramref name="packetId"/> is the PUBLISH's packet id for QoS 1/2. False when the session refused it.</summary>
    bool TryDeliver(TMessage message, SharedDelivery delivery, out ushort packetId);
}
