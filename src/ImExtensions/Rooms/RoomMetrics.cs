using Prometheus;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>Prometheus metrics of live rooms (<c>/metrics</c>).</summary>
internal static class RoomMetrics
{
    public static readonly Counter MessagesAccepted = Metrics.CreateCounter(
        "mqttim_room_messages_total", "Room messages accepted from viewers and back-ends, by kind.", "kind");

    public static readonly Counter MessagesSampledOut = Metrics.CreateCounter(
        "mqttim_room_messages_sampled_out_total", "Chat messages left out of frames because the room was over its rate.");

    public static readonly Counter Frames = Metrics.CreateCounter(
        "mqttim_room_frames_total", "Merged frames built (each encoded once per encoding in use).");

    public static readonly Counter FrameDeliveries = Metrics.CreateCounter(
        "mqttim_room_frame_deliveries_total", "Frames handed to viewer sessions.");

    public static readonly Counter DirectFrameDeliveries = Metrics.CreateCounter(
        "mqttim_room_direct_frame_deliveries_total", "Frames written as pre-encoded QoS 0 PUBLISHes straight to viewer connections (counted in mqttim_room_frame_deliveries_total too).");

    public static readonly Counter MessageDeliveries = Metrics.CreateCounter(
        "mqttim_room_message_deliveries_total", "Room messages handed to viewer sessions (inside frames).");

    public static readonly Counter ViewerFramesDropped = Metrics.CreateCounter(
        "mqttim_room_viewer_frames_dropped_total", "Ephemeral frames (or their ephemeral part) dropped for viewers that fell behind; gifts and system messages are never dropped.");

    public static readonly Counter ViewersCut = Metrics.CreateCounter(
        "mqttim_room_viewers_cut_total", "Viewers disconnected because even their gift/system backlog exceeded Rooms:MaxReliableBacklogFrames.");

    public static readonly Gauge BacklogFrames = Metrics.CreateGauge(
        "mqttim_room_viewer_backlog_frames", "Frames held for viewers that are behind, summed over this node's viewers (per viewer: Rooms:ViewerQueueFrames, plus frames holding gifts up to Rooms:MaxReliableBacklogFrames).");

    public static readonly Gauge FrameIntervalMs = Metrics.CreateGauge(
        "mqttim_room_frame_interval_ms", "The rooms' merge window now: Rooms:FrameIntervalMs, stretched when this node's viewers would need more than Rooms:NodeFramesPerSecond frames per second.");

    public static readonly Gauge Viewers = Metrics.CreateGauge(
        "mqttim_room_viewers", "Room viewers connected to this node (all rooms).");

    public static readonly Counter BusPublishes = Metrics.CreateCounter(
        "mqttim_room_bus_publishes_total", "Room envelopes this node published to Redis (one per room message, whatever the number of nodes).");

    public static readonly Counter BusCopies = Metrics.CreateCounter(
        "mqttim_room_bus_copies_total", "Copies of this node's room envelopes Redis delivered: one per node with viewers of the room.");

    public static readonly Counter BusReceived = Metrics.CreateCounter(
        "mqttim_room_bus_received_total", "Room envelopes this node received from Redis.");
}
