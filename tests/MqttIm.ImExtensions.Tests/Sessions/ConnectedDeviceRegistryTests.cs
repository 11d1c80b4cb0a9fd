using MQTTnet.Formatter;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Sessions;

public sealed class ConnectedDeviceRegistryTests
{
    private readonly ConnectedDeviceRegistry _registry = new();

    private static ConnectedDevice Device(string user, string clientId, string key) =>
        new(user, clientId, IsMqtt5: true, WireFormat.Json, key);

    [Fact]
    public void DevicesOf_ListsEveryDeviceOfTheUser_AndNoOtherUsers()
    {
        _registry.Add(Device("alice", "alice-phone", "a:1"));
        _registry.Add(Device("alice", "alice-laptop", "a:2"));
        _registry.Add(Device("bob", "bob-phone", "b:1"));

        Assert.Equal(["alice-laptop", "alice-phone"], _registry.DevicesOf("alice").Select(d => d.ClientId).Order(StringComparer.Ordinal));
        Assert.Equal(["bob-phone"], _registry.DevicesOf("bob").Select(d => d.ClientId));
        Assert.Empty(_registry.DevicesOf("carol"));
        Assert.Equal(3, _registry.Count);
    }

    [Fact]
    public void Takeover_ReplacesTheEntry_AndALateRemoveOfTheOldConnectionIsIgnored()
    {
        _registry.Add(Device("alice", "alice-phone", "a:1"));
        var snapshot = _registry.DevicesOf("alice");
        _registry.Add(Device("alice", "alice-phone", "a:2"));

        Assert.False(_registry.Remove("alice-phone", "a:1"));
        Assert.Equal("a:2", Assert.Single(_registry.DevicesOf("alice")).ConnectionKey);
        Assert.Equal("a:1", Assert.Single(snapshot).ConnectionKey); // a snapshot taken earlier does not change under the caller
        Assert.Equal("a:2", _registry.Find("alice-phone")?.ConnectionKey);
    }

    [Fact]
    public void ClientIdReusedByAnotherUser_MovesBetweenUsers()
    {
        _registry.Add(Device("alice", "shared-id", "a:1"));
        _registry.Add(Device("bob", "shared-id", "b:1"));

        Assert.Empty(_registry.DevicesOf("alice"));
        Assert.Equal("bob", Assert.Single(_registry.DevicesOf("bob")).UserId);
    }

    [Fact]
    public void RemovingTheLastDevice_ForgetsTheUser()
    {
        _registry.Add(Device("alice", "alice-phone", "a:1"));
        _registry.Add(Device("alice", "alice-laptop", "a:2"));

        Assert.True(_registry.Remove("alice-phone", "a:1"));
        Assert.Equal("alice-laptop", Assert.Single(_registry.DevicesOf("alice")).ClientId);
        Assert.True(_registry.Remove("alice-laptop", "a:2"));
        Assert.Empty(_registry.DevicesOf("alice"));
        Assert.Equal(0, _registry.Count);
        Assert.Null(_registry.Find("alice-phone"));
    }
}
