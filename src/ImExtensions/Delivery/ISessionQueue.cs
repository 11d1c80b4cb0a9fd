namespace MqttIm.ImExtensions.Delivery;

/// <summary>
/// A session's outgoing queue that can say how full it is: room delivery hands a viewer only a few frames at a time,
/// because MQTTnet's queue drops its oldest entry blindly when full.
/// </summary>
public interface ISessionQueue : IDeviceChannel
{
    /// <summary>Messages waiting in the session's queue (MQTTnet's <c>PendingApplicationMessagesCount</c>).</summary>
    long PendingMessages { get; }
}
