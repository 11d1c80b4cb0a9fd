using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Rooms.Store;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// Once per merge window: carries the summed likes on, builds one frame per room that has news and hands it to every
/// local viewer (frames are shared; each viewer's backlog bounds what a slow one costs), applies ban/close controls,
/// retires empty rooms. Every minute it trims the replay window. One loop: the per-viewer state needs no locks.
/// With many viewers on the node the window spans several ticks (<see cref="RoomOptions.NodeFramesPerSecond"/>), so the
/// cost of fan-out, which is per frame, stays bounded while the messages per frame grow.
/// </summary>
internal sealed class RoomFramePump(
    RoomDirectory directory,
    RoomFrameBuilder builder,
    RoomLikeCounter likes,
    RoomSender sender,
    RoomCatalog catalog,
    IRoomBus bus,
    IRoomStore store,
    ClusterNode node,
    IConnectionCloser closer,
    IOptions<RoomOptions> options,
    TimeProvider time,
    ILogger<RoomFramePump> logger) : BackgroundService
{
    private readonly RoomOptions _options = options.Value;
    private readonly List<RoomEnvelope> _controls = [];
    private readonly List<RoomViewer> _cut = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FrameInterval, time);
        var lastHousekeeping = time.GetTimestamp();
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                FlushLikes(stoppingToken);
                Tick();
                if (time.GetElapsedTime(lastHousekeeping) > TimeSpan.FromMinutes(1))
                {
                    lastHousekeeping = time.GetTimestamp();
                    sender.Sweep();
                    _ = TrimAsync(stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Room frame pump tick failed; continuing with the next window");
            }
        }
    }

    /// <summary>One window (internal for tests that drive the pump by hand).</summary>
    internal void Tick()
    {
        var backlog = 0;
        var stride = WindowStride(directory.ViewerCount);
        foreach (var room in directory.Rooms)
        {
            if (!node.IsClustered)
            {
                room.TotalViewers = room.Count;
            }

            _controls.Clear();
            RoomFrameBuffers? frame = null;
            if (++room.TicksSinceWindow >= stride)
            {
                room.TicksSinceWindow = 0;
                frame = builder.Build(room, _controls);
            }

            var viewers = room.Viewers;
            foreach (var viewer in viewers)
            {
                if (frame is not null)
                {
                    viewer.Offer(frame, _options);
                }
                else if (viewer.BacklogFrames > 0)
                {
                    viewer.Pump(_options);
                }

                backlog += viewer.BacklogFrames;
                if (viewer.Cut)
                {
                    _cut.Add(viewer);
                }
            }

            foreach (var control in _controls)
            {
                Apply(room, control);
            }

            if (room.Count == 0 && room.Incoming.IsEmpty)
            {
                directory.RetireIfEmpty(room);
            }
        }

        RoomMetrics.BacklogFrames.Set(backlog);
        foreach (var viewer in _cut)
        {
            RoomMetrics.ViewersCut.Inc();
            logger.LogWarning("Room viewer {ClientId} disconnected: its backlog of gift/system frames exceeded Rooms:MaxReliableBacklogFrames", viewer.ClientId);
            directory.LeaveAll(viewer.ClientId, viewer.ConnectionKey);
            _ = DisconnectAsync(viewer.ClientId);
        }

        _cut.Clear();
    }

    /// <summary>Ticks per window: enough that this node's viewers need at most NodeFramesPerSecond frames per second.</summary>
    private int WindowStride(int viewers)
    {
        var stride = 1;
        if (_options.NodeFramesPerSecond > 0)
        {
            var wanted = viewers * 1000.0 / _options.FrameIntervalMs;
            var longest = Math.Max(1, _options.MaxFrameIntervalMs / _options.FrameIntervalMs);
            stride = Math.Clamp((int)Math.Ceiling(wanted / _options.NodeFramesPerSecond), 1, longest);
        }

        RoomMetrics.FrameIntervalMs.Set(stride * _options.FrameIntervalMs);
        return stride;
    }

    private void Apply(LiveRoom room, RoomEnvelope control)
    {
        catalog.Invalidate(room.RoomId);
        switch (control.Control)
        {
            case "ban":
                directory.RemoveUser(room.RoomId, control.UserId);
                break;
            case "close":
                foreach (var viewer in room.Viewers)
                {
                    directory.Leave(room.RoomId, viewer.ClientId, null);
                }

                break;
        }
    }

    private void FlushLikes(CancellationToken cancellationToken)
    {
        foreach (var (roomId, count) in likes.Drain())
        {
            _ = PublishLikesAsync(roomId, count, cancellationToken);
        }
    }

    private async Task PublishLikesAsync(string roomId, long count, CancellationToken cancellationToken)
    {
        try
        {
            await bus.PublishAsync(new RoomEnvelope { RoomId = roomId, Likes = count }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Likes of room {RoomId} could not be carried on; {Count} likes lost", roomId, count);
        }
    }

    private async Task TrimAsync(CancellationToken cancellationToken)
    {
        try
        {
            var before = time.GetUtcNow() - _options.ReplayWindow;
            await store.TrimReplayAsync(before.ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Trimming the room replay window failed; retried in a minute");
        }
    }

    private async Task DisconnectAsync(string clientId)
    {
        try
        {
            await closer.DisconnectAsync(clientId, CloseReason.QuotaExceeded,
                "too far behind the room's gift stream; reconnect and replay from your last room seq").ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Disconnecting slow viewer {ClientId} failed (probably gone already)", clientId);
        }
    }
}
