using MQTTnet.Formatter;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary><c>im/rpc/device/telemetry</c> and <c>im/rpc/device/list</c>: owners only, MQTT 5 and 3.1.1.</summary>
public sealed class DeviceRpcTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task Owner_QueriesTelemetryOverRpc_OthersAreRefused(MqttProtocolVersion version)
    {
        var broker = fixture.Broker;
        var owner = "rpc-owner-" + Guid.NewGuid().ToString("N")[..6];
        var id = "rpc-dev-" + Guid.NewGuid().ToString("N")[..6];
        var secret = await broker.RegisterAsync(id, owner);
        await using (var device = await IotDevice.ConnectAsync(broker, id, secret, subscribeCommands: false))
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.True((await device.TelemetryAsync($$"""{"i":{{i}}}""")).IsSuccess);
            }
        }

        await using var user = await TestDevice.ConnectAsync(broker, owner, version: version);
        var page = await user.RpcAsync("device/telemetry", new DeviceTelemetryRequest { RequestId = "t1", DeviceId = id, Limit = 2 }, "t1");
        Assert.Equal(RpcResponse.ResultOneofCase.DeviceTelemetry, page.ResultCase);
        Assert.Equal(2, page.DeviceTelemetry.Points.Count);
        var rest = await user.RpcAsync("device/telemetry", new DeviceTelemetryRequest { RequestId = "t2", DeviceId = id, After = page.DeviceTelemetry.Next }, "t2");
        Assert.Equal("""{"i":2}""", rest.DeviceTelemetry.Points.Single().Payload.ToStringUtf8());
        var latest = await user.RpcAsync("device/telemetry", new DeviceTelemetryRequest { RequestId = "t3", DeviceId = id, LatestOnly = true }, "t3");
        Assert.Equal("""{"i":2}""", latest.DeviceTelemetry.Points.Single().Payload.ToStringUtf8());
        var list = await user.RpcAsync("device/list", new DeviceListRequest { RequestId = "l1" }, "l1");
        Assert.Equal([id], list.Devices.Devices.Select(d => d.DeviceId));

        await using var stranger = await TestDevice.ConnectAsync(broker, "rpc-stranger-" + Guid.NewGuid().ToString("N")[..6], version: version);
        var refused = await stranger.RpcAsync("device/telemetry", new DeviceTelemetryRequest { RequestId = "x1", DeviceId = id }, "x1");
        Assert.Equal("not_authorized", refused.Error.Code);
        Assert.Empty((await stranger.RpcAsync("device/list", new DeviceListRequest { RequestId = "x2" }, "x2")).Devices.Devices);
    }
}
