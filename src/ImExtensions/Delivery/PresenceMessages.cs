using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>The MQTT message for a presence state: JSON, QoS 1, retained (a watcher always gets the latest state on subscribe).</summary>
internal static class PresenceMessages
{
    public static MqttApplicationMessage For(PresenceState state) => new MqttApplicationMessageBuilder()
        .WithTopic(PresenceTopic.For(state.UserId))
        .WithPayload(PayloadCodec.Encode(state, WireFormat.Json))
        .WithContentType(PayloadCodec.JsonContentType)
        .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .WithRetainFlag(true)
        .Build();

    /// <summary>What other users see of a state: online or not and since when, never the device ids.</summary>
    public static PresenceState WithoutDevices(PresenceState state) =>
        state.Devices.Count == 0 ? state : new PresenceState { UserId = state.UserId, Online = state.Online, ChangedMs = state.ChangedMs };
}
