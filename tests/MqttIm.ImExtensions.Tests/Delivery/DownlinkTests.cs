using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Devices;

namespace MqttIm.ImExtensions.Tests.Delivery;

/// <summary>
/// What devices and rooms compose outside the hook boundary (<see cref="Downlink"/>) is what MQTTnet sends: every field
/// carried over, QoS 1 unless asked otherwise, and one MQTTnet message however many sessions it goes to.
/// </summary>
public sealed class DownlinkTests
{
    [Fact]
    public void EveryField_ReachesMqttnetsMessage()
    {
        var message = new Downlink("device/d1/cmd/c1", "{\"a\":1}"u8.ToArray(), "application/json")
        {
            AtMostOnce = true,
            Retain = true,
            ResponseTopic = "device/d1/cmd/c1/reply",
            CorrelationData = "c1"u8.ToArray(),
            UserProperties = [new("seq", "7"), new("receivedMs", "1764620000000")],
        }.ToMqttMessage();

        Assert.Equal(("device/d1/cmd/c1", "{\"a\":1}", "application/json"), (message.Topic, System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(message.Payload)), message.ContentType));
        Assert.Equal((MqttQualityOfServiceLevel.AtMostOnce, true, "device/d1/cmd/c1/reply"), (message.QualityOfServiceLevel, message.Retain, message.ResponseTopic));
        Assert.Equal("c1"u8.ToArray(), message.CorrelationData);
        Assert.Equal([("seq", "7"), ("receivedMs", "1764620000000")], message.UserProperties!.Select(p => (p.Name, p.ReadValueAsString())));
    }

    [Fact]
    public void Defaults_AreQos1_NotRetained_WithoutProperties()
    {
        var message = new Downlink("device/d1/state", "{}"u8.ToArray()).ToMqttMessage();

        Assert.Equal((MqttQualityOfServiceLevel.AtLeastOnce, false, "application/json"), (message.QualityOfServiceLevel, message.Retain, message.ContentType));
        Assert.Null(message.CorrelationData);
        Assert.True(message.UserProperties is null or { Count: 0 });
    }

    [Fact]
    public void ForwardedToSeveralWatchers_IsBuiltOnce_AndOnlyMatchingFiltersGetIt()
    {
        var watchers = new DeviceWatchers();
        var (telemetry, everything, state) = (new RecordingChannel(), new RecordingChannel(), new RecordingChannel());
        watchers.Add("owner-a", "d1", "device/d1/telemetry/#", telemetry);
        watchers.Add("owner-b", "d1", "device/d1/#", everything);
        watchers.Add("owner-c", "d1", "device/d1/state", state);

        var forwarded = watchers.Forward("d1", new Downlink("device/d1/telemetry/temp", "{\"t\":21}"u8.ToArray()));

        Assert.Equal(2, forwarded);
        Assert.Same(telemetry.Received.Single(), everything.Received.Single());
        Assert.Empty(state.Received);
        Assert.Equal(0, watchers.Forward("d2", new Downlink("device/d2/telemetry", "{}"u8.ToArray())));
    }

    private sealed class RecordingChannel : IDeviceChannel
    {
        public List<MqttApplicationMessage> Received { get; } = [];

        public bool TryPublish(MqttApplicationMessage message)
        {
            Received.Add(message);
            return true;
        }
    }
}
