using System.Collections.Concurrent;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.ImExtensions.Devices;

/// <summary>A device's online state and last-seen time, as served on <c>device/{id}/state</c> and over HTTP.</summary>
public sealed record DeviceState(string DeviceId, bool Online, long LastSeenMs, long ChangedMs);

/// <summary>
/// Online/offline and last seen per device on this node, published retained-style to the watchers of
/// <c>device/{id}/state</c> (the current state on subscribe, then every change).
/// </summary>
internal sealed class DevicePresence(DeviceWatchers watchers, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, DeviceState> _states = new(StringComparer.Ordinal);

    public DeviceState Get(string deviceId) => _states.TryGetValue(deviceId, out var state) ? state : new DeviceState(deviceId, false, 0, 0);

    public int OnlineCount => _states.Values.Count(s => s.Online);

    public void SetOnline(string deviceId, bool online)
    {
        var now = Now();
        var state = _states.AddOrUpdate(deviceId, _ => new DeviceState(deviceId, online, now, now), (_, s) => new DeviceState(deviceId, online, now, now));
        DeviceMetrics.ConnectedDevices.Set(OnlineCount);
        watchers.Forward(deviceId, MessageOf(state));
    }

    /// <summary>Telemetry and replies count as "seen" without being a state change worth publishing.</summary>
    public void Touch(string deviceId)
    {
        var now = Now();
        _states.AddOrUpdate(deviceId, _ => new DeviceState(deviceId, true, now, now), (_, s) => s with { LastSeenMs = now });
    }

    public static MqttApplicationMessage MessageOf(DeviceState state) => new MqttApplicationMessageBuilder()
        .WithTopic(DeviceTopics.StateOf(state.DeviceId))
        .WithPayload(JsonSerializer.SerializeToUtf8Bytes(new { deviceId = state.DeviceId, online = state.Online, lastSeenMs = state.LastSeenMs, changedMs = state.ChangedMs }))
        .WithContentType("application/json")
        .WithRetainFlag()
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .Build();

    private long Now() => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
