using Microsoft.Extensions.Options;
using MqttIm.Broker.Hosting;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Bounds the connections that have not yet been answered with a CONNACK (Limits:MaxPendingConnections): each
/// costs buffers and a timer while nobody knows who it is, so a flood of them is refused at the door.
/// </summary>
internal sealed class PendingConnectionGate(IOptions<BrokerLimitsOptions> limits)
{
    private readonly int _max = limits.Value.MaxPendingConnections;
    private int _pending;

    public int Pending => Volatile.Read(ref _pending);

    /// <summary>A slot to release once the CONNACK is out (or the connection is gone); null when the gate is full.</summary>
    public Slot? TryEnter()
    {
        if (Interlocked.Increment(ref _pending) > _max)
        {
            Interlocked.Decrement(ref _pending);
            return null;
        }

        return new Slot(this);
    }

    public sealed class Slot(PendingConnectionGate gate)
    {
        private int _released;

        /// <summary>Idempotent: the CONNACK writer and the connection's end may both call it.</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref gate._pending);
            }
        }
    }
}
