using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Tests.Sessions;

namespace MqttIm.ImExtensions.Tests.Devices;

/// <summary>
/// A CONNECT re-check that finishes late (its store read slow under load) judges the connection it started for: if
/// that connection was replaced meanwhile by a newer one of the same client id (which passed its own checks, e.g. with
/// the rotated secret), the late verdict must not close the newer one.
/// </summary>
public sealed class DeviceKickerTests
{
    private readonly ConnectedDeviceRegistry _registry = new();
    private readonly IotConnections _connections = new();
    private readonly RecordingCloser _closer = new();
    private readonly DeviceKicker _kicker;

    public DeviceKickerTests()
    {
        _kicker = new DeviceKicker(_registry, _connections, _closer, new LocalIotBus(), NullLogger<DeviceKicker>.Instance);
    }

    private ConnectedDevice Register(string key)
    {
        var device = new ConnectedDevice("truck-1", "truck-1", IsMqtt5: true, WireFormat.Json, key, IsIotDevice: true);
        _connections.MarkDevice("truck-1", "truck-1", "hash-" + key);
        _registry.Add(device);
        return device;
    }

    [Fact]
    public async Task KickConnection_ClosesTheConnection_WhileItIsTheRegisteredOne()
    {
        var connection = Register("127.0.0.1:5001");

        await _kicker.KickConnectionAsync(connection, "the device secret was rotated");

        Assert.Equal([("truck-1", CloseReason.NotAuthorized)], _closer.Closed);
        Assert.Equal(["127.0.0.1:5001"], _closer.ClosedConnections); // that connection, not whatever holds the client id by then
    }

    [Fact]
    public async Task KickConnection_LeavesANewerConnectionOfTheSameClientId_Alone()
    {
        var stale = Register("127.0.0.1:5001");
        Register("127.0.0.1:5002"); // reconnected with the new secret before the old connection's re-check finished

        await _kicker.KickConnectionAsync(stale, "the device secret was rotated");

        Assert.Empty(_closer.Closed);
    }
}
