using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Sessions;

/// <summary>
/// A user's oldest device is the one whose CONNECT was accepted first, whatever order MQTTnet raises the connected
/// events in (after the CONNACK, one task per connection: a quick second client's event can come first).
/// </summary>
public sealed class ConnectOrderTests
{
    [Fact]
    public void ConnectedEventsInTheOtherOrder_KeepTheAcceptOrder()
    {
        var order = new ConnectOrder();
        order.Accepted("10.0.0.1:1001");
        order.Accepted("10.0.0.1:1002");

        var second = order.Take("10.0.0.1:1002"); // its connected event came first
        var first = order.Take("10.0.0.1:1001");

        Assert.True(first < second, $"first accepted {first}, second {second}");
        var devices = new[] { Device("web1", first), Device("web2", second) };
        Assert.Equal(["web1"], DevicePlatformLimiter.SelectDisplaced(devices, "web", 1).Select(d => d.ClientId));
    }

    [Fact]
    public void NeverStamped_ComesAfterEveryStampedOne_AndAStampIsTakenOnce()
    {
        var order = new ConnectOrder();
        order.Accepted("a:1");
        var unstamped = order.Take("b:2");
        var stamped = order.Take("a:1");

        Assert.True(stamped < unstamped);
        Assert.True(order.Take("a:1") > unstamped); // taken: a reuse of that key counts as new

        order.Accepted("c:3");
        order.Forget("c:3"); // gone before its connected event
        Assert.True(order.Take("c:3") > unstamped);
    }

    private static ConnectedDevice Device(string clientId, long order) =>
        new("gina", clientId, IsMqtt5: true, WireFormat.Json, "k-" + clientId, "web", order);
}
