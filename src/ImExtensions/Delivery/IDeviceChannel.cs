using MQTTnet;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>The way into one connected device's outgoing queue.</summary>
public interface IDeviceChannel
{
    /// <summary>Queues the message for the device; false when the device is gone or its queue refused it.</summary>
    bool TryPublish(MqttApplicationMessage message);

    /// <summary>The same for a message composed outside the hook boundary (devices' commands, state, telemetry).</summary>
    bool TryPublish(Downlink downlink) => TryPublish(downlink.ToMqttMessage());
}
