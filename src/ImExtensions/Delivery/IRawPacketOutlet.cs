namespace MqttIm.ImExtensions.Delivery;

/// <summary>What became of a packet offered to a <see cref="IRawPacketOutlet"/>.</summary>
public enum RawWriteResult
{
    /// <summary>The whole packet is in the connection's output.</summary>
    Written,

    /// <summary>Nothing written: the output is in use or still flushing (client not reading); offer it again later.</summary>
    Busy,

    /// <summary>Nothing written: the connection's output is closed.</summary>
    Closed,
}

/// <summary>
/// A connection's output below MQTTnet's session queue: takes whole, already encoded packets (QoS 0 PUBLISHes that need
/// no session state) and writes them between MQTTnet's own packets, never inside one. Never blocks: a connection whose
/// output is busy or backed up says so and the caller keeps the packet (rooms keep it in the viewer's bounded backlog).
/// </summary>
public interface IRawPacketOutlet
{
    /// <summary>The client's largest acceptable packet (MQTT 5 Maximum Packet Size); 0 = no limit announced.</summary>
    long MaximumPacketSize { get; }

    RawWriteResult TryWrite(ReadOnlySpan<byte> packet);
}
