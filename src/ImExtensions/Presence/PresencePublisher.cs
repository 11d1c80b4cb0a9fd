using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// Delivers a user's retained <see cref="PresenceState"/> on <c>presence/{userId}</c> to the user's watchers whenever the
/// devices the registry lists for the user change. States are computed from the registry and queued under one lock, and one loop
/// publishes them in that order, so watchers always end on the latest registry state.
/// </summary>
internal sealed class PresencePublisher(
    ConnectedDeviceRegistry registry,
    PresenceTracker tracker,
    PresenceWatchers watchers,
    TimeProvider clock,
    ILogger<PresencePublisher> logger) : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly Channel<(PresenceState State, bool OnlineChanged)> _queue =
        Channel.CreateUnbounded<(PresenceState, bool)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Re-reads the user's connected devices and queues a publish if their presence changed. Never throws.</summary>
    public void Refresh(string userId)
    {
        if (string.IsNullOrEmpty(userId))
        {
            return;
        }

        lock (_gate)
        {
            ApplyLocked(userId, registry.DevicesOf(userId).Select(d => d.ClientId));
        }
    }

    /// <summary>
    /// Cluster mode: announces the devices the user has online over all nodes (computed by the caller) and queues a
    /// publish if that changed the presence. Never throws.
    /// </summary>
    public void Announce(string userId, IEnumerable<string> devicesOnline)
    {
        if (string.IsNullOrEmpty(userId))
        {
            return;
        }

        lock (_gate)
        {
            ApplyLocked(userId, devicesOnline);
        }
    }

    private void ApplyLocked(string userId, IEnumerable<string> devices)
    {
        var wasOnline = tracker.Get(userId).Online;
        if (tracker.Apply(userId, devices, clock.GetUtcNow().ToUnixTimeMilliseconds()) is { } state)
        {
            _queue.Writer.TryWrite((state, state.Online != wasOnline));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (state, onlineChanged) in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var delivered = watchers.Publish(state, onlineChanged);
                ImLog.PresencePublished(logger, state.UserId, state.Online, state.Devices.Count);
                ImMetrics.InboxDeliveries.Inc(delivered);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ImLog.PresencePublishFailed(logger, ex, state.UserId);
            }
        }
    }
}
