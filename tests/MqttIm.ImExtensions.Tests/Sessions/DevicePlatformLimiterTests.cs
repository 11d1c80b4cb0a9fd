using MQTTnet.Formatter;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Sessions;

public sealed class DevicePlatformLimiterTests
{
    private static ConnectedDevice Device(string clientId, string platform, long order) =>
        new("alice", clientId, IsMqtt5: true, WireFormat.Json, "k-" + clientId, platform, order);

    [Fact]
    public void OnlyTheOldestBeyondTheLimit_OfThatPlatform_AreDisplaced()
    {
        var devices = new[]
        {
            Device("web-new", "web", 9), Device("phone-old", "phone", 1), Device("desk", "desktop", 2),
            Device("phone-new", "phone", 5), Device("web-a", "web", 3), Device("web-b", "web", 4), Device("legacy", "", 0),
        };

        Assert.Equal(["phone-old"], DevicePlatformLimiter.SelectDisplaced(devices, "phone", 1).Select(d => d.ClientId));
        Assert.Equal(["web-a"], DevicePlatformLimiter.SelectDisplaced(devices, "web", 2).Select(d => d.ClientId));
        Assert.Empty(DevicePlatformLimiter.SelectDisplaced(devices, "web", 3));
        Assert.Empty(DevicePlatformLimiter.SelectDisplaced(devices, "desktop", 1));
    }

    [Fact]
    public void DefaultLimits()
    {
        var limits = new DeviceOptions().MaxDevicesPerPlatform;

        Assert.Equal((1, 1, 1, 3), (limits["phone"], limits["tablet"], limits["desktop"], limits["web"]));
    }
}
