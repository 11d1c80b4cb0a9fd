using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>Configuration section <c>Rooms</c>: live-room merging, rates, slow-viewer bounds and the replay window.</summary>
public sealed class RoomOptions
{
    public const string SectionName = "Rooms";

    /// <summary>One frame per room per this many milliseconds carries everything of the window.</summary>
    [Range(10, 5000)]
    public int FrameIntervalMs { get; set; } = 100;

    /// <summary>
    /// Frames per second this node aims to stay under over all its viewers. When viewers × (1000 / FrameIntervalMs) is
    /// above it, every room's window stretches to a whole multiple of <see cref="FrameIntervalMs"/> (at most
    /// <see cref="MaxFrameIntervalMs"/>): frames per second stay bounded while messages per second grow, each frame
    /// carrying more messages. The price is latency (up to one window more). 0 = windows stay at FrameIntervalMs.
    /// </summary>
    [Range(0, 100_000_000)]
    public int NodeFramesPerSecond { get; set; } = 30_000;

    /// <summary>The longest window <see cref="NodeFramesPerSecond"/> may stretch a room's window to.</summary>
    [Range(10, 5000)]
    public int MaxFrameIntervalMs { get; set; } = 500;

    /// <summary>Messages per second a room delivers when its own setting is 0; chat beyond its share is sampled.</summary>
    [Range(1, 100_000)]
    public int DefaultMessagesPerSecond { get; set; } = 40;

    /// <summary>Share of a room's rate kept for gifts and system messages; chat gets the rest (gifts are never capped).</summary>
    [Range(0.0, 0.9)]
    public double HighPriorityShare { get; set; } = 0.25;

    /// <summary>Chat messages per second one user may send into one room (token bucket); 0 turns it off.</summary>
    [Range(0.0, 10_000.0)]
    public double UserMessagesPerSecond { get; set; } = 5;

    [Range(1.0, 10_000.0)]
    public double UserBurst { get; set; } = 10;

    /// <summary>Frames held for a viewer that is behind; beyond, its oldest ephemeral content is dropped first.</summary>
    [Range(1, 10_000)]
    public int ViewerQueueFrames { get; set; } = 64;

    /// <summary>Frames handed to a QoS 1 viewer's MQTTnet session queue at once (below its drop-oldest limit, so it never drops a gift).</summary>
    [Range(1, 500)]
    public int InFlightFramesPerViewer { get; set; } = 8;

    /// <summary>A viewer whose backlog holds this many gift/system-only frames is disconnected (it replays on reconnect).</summary>
    [Range(1, 1_000_000)]
    public int MaxReliableBacklogFrames { get; set; } = 1000;

    /// <summary>How long gifts and system messages stay replayable.</summary>
    public TimeSpan ReplayWindow { get; set; } = TimeSpan.FromMinutes(10);

    [Range(1, 5000)]
    public int ReplayPageSize { get; set; } = 200;

    /// <summary>Names of joining/leaving viewers a frame carries; the rest are counted.</summary>
    [Range(0, 1000)]
    public int JoinEventsPerFrame { get; set; } = 10;

    /// <summary>Viewer counts and join/leave events go out at most once per this interval.</summary>
    [Range(100, 60_000)]
    public int CountIntervalMs { get; set; } = 1000;

    [Range(1, 10_000)]
    public int MaxTextLength { get; set; } = 500;

    public TimeSpan FrameInterval => TimeSpan.FromMilliseconds(FrameIntervalMs);
}
