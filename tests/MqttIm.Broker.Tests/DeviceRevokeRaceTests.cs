using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Devices.Storage.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.Broker.Tests;

/// <summary>
/// A device revoked while its CONNECT is between the credential check and the connection's registration: the revoke's
/// kick finds nothing registered yet, so only the re-check after registration (DeviceConnectRecheck) can close it. The
/// whole broker runs in this process (real Kestrel listener, real MQTTnet client over loopback) so the device store can
/// hold the CONNECT's credential read at exactly that point.
/// </summary>
public sealed class DeviceRevokeRaceTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly InProcessBroker _broker = new();
    private readonly GatedDeviceStore _gate = new();

    public ValueTask DisposeAsync() => _broker.DisposeAsync();

    [Theory]
    [InlineData("disable")]
    [InlineData("rotate")]
    [InlineData("delete")]
    public async Task DeviceRevoked_WhileItsConnectIsBeingChecked_IsDisconnectedOnceRegistered(string revoke)
    {
        var (mqttPort, registry) = await StartBrokerAsync();
        var deviceId = "sensor-" + revoke;
        var (_, secret) = (await registry.RegisterAsync(deviceId, ["owner-1"], tokenOnly: false, CancellationToken.None))!.Value;

        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new MqttClientFactory().CreateMqttClient();
        client.DisconnectedAsync += args =>
        {
            disconnected.TrySetResult(args);
            return Task.CompletedTask;
        };

        _gate.HoldNextRead(deviceId);
        var connecting = client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", mqttPort)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(deviceId)
            .WithCredentials(deviceId, secret)
            .WithTimeout(Timeout)
            .Build());

        // The CONNECT has read the still-valid record; revoke now, before it registers (the kick finds no connection).
        Assert.True(await _gate.ReadHeld.WaitAsync(Timeout), "the CONNECT never read the device record");
        switch (revoke)
        {
            case "disable":
                Assert.NotNull(await registry.SetDisabledAsync(deviceId, true, CancellationToken.None));
                break;
            case "rotate":
                Assert.NotNull(await registry.RotateSecretAsync(deviceId, CancellationToken.None));
                break;
            default:
                Assert.True(await registry.DeleteAsync(deviceId, CancellationToken.None));
                break;
        }

        _gate.Release();

        var connected = await connecting.WaitAsync(Timeout);
        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode); // checked against the old record
        var closed = await disconnected.Task.WaitAsync(Timeout);
        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, closed.Reason);
        Assert.Contains(revoke switch { "disable" => "disabled", "rotate" => "rotated", _ => "deleted" }, closed.ReasonString ?? "");
    }

    [Fact]
    public async Task DeviceNotRevoked_StaysConnected_AfterTheRecheck()
    {
        var (mqttPort, registry) = await StartBrokerAsync();
        var (_, secret) = (await registry.RegisterAsync("sensor-ok", ["owner-1"], tokenOnly: false, CancellationToken.None))!.Value;
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", mqttPort)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("sensor-ok")
            .WithCredentials("sensor-ok", secret)
            .WithTimeout(Timeout)
            .Build());

        // The re-check runs before the device's subscriptions are restored and before its own traffic is handled:
        // a QoS 1 telemetry publish answered with Success shows the connection passed it and is served.
        var published = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("device/sensor-ok/telemetry")
            .WithPayload("{\"t\":21.5}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        Assert.True(published.IsSuccess, published.ReasonString);
        Assert.True(client.IsConnected);
    }

    private async Task<(int MqttPort, DeviceRegistry Registry)> StartBrokerAsync()
    {
        // The real SQLite device store, behind a gate that can hold one credential read.
        await _broker.StartAsync(services => services.AddSingleton<IDeviceStore>(sp => _gate.Wrap(new SqliteDeviceStore(sp.GetRequiredService<SqliteDatabase>()))));
        return (_broker.MqttPort, _broker.Services.GetRequiredService<DeviceRegistry>());
    }

    /// <summary>Passes every call through; the next read of one device id completes its read, then waits for <see cref="Release"/>.</summary>
    private sealed class GatedDeviceStore : IDeviceStore
    {
        private readonly SemaphoreSlim _held = new(0);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private IDeviceStore _inner = null!;
        private string? _holdFor;

        public SemaphoreSlim ReadHeld => _held;

        public IDeviceStore Wrap(IDeviceStore inner)
        {
            _inner = inner;
            return this;
        }

        public void HoldNextRead(string deviceId)
        {
            lock (_released)
            {
                _holdFor = deviceId;
            }
        }

        public void Release() => _released.TrySetResult();

        public async Task<DeviceRecord?> GetAsync(string deviceId, CancellationToken cancellationToken)
        {
            var record = await _inner.GetAsync(deviceId, cancellationToken);
            bool hold;
            lock (_released)
            {
                hold = deviceId == _holdFor;
                if (hold)
                {
                    _holdFor = null;
                }
            }

            if (hold)
            {
                _held.Release();
                await _released.Task.WaitAsync(Timeout, cancellationToken);
            }

            return record;
        }

        public Task<bool> CreateAsync(DeviceRecord device, CancellationToken cancellationToken) => _inner.CreateAsync(device, cancellationToken);

        public Task<bool> UpdateAsync(DeviceRecord device, CancellationToken cancellationToken) => _inner.UpdateAsync(device, cancellationToken);

        public Task<bool> DeleteAsync(string deviceId, CancellationToken cancellationToken) => _inner.DeleteAsync(deviceId, cancellationToken);

        public Task<IReadOnlyList<DeviceRecord>> ListAsync(IReadOnlyCollection<string>? principals, string afterId, int limit, CancellationToken cancellationToken) =>
            _inner.ListAsync(principals, afterId, limit, cancellationToken);
    }
}
