using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// The order connections were accepted in, which makes a user's "oldest device" (<see cref="DevicePlatformLimiter"/>).
/// Stamped when the CONNECT is accepted, before the CONNACK, not when MQTTnet raises ClientConnected: that event runs
/// after the CONNACK on each connection's own task, so of two clients connecting one after the other the second's
/// event can come first, and the newer device would be taken for the older one.
/// </summary>
internal sealed class ConnectOrder
{
    private readonly ConcurrentDictionary<string, long> _accepted = new(StringComparer.Ordinal);
    private long _last;

    /// <summary>The CONNECT on this connection was accepted (its CONNACK is about to go out).</summary>
    public void Accepted(string connectionKey) => _accepted[connectionKey] = Interlocked.Increment(ref _last);

    /// <summary>The connection's place in the order; one after every other when it was never stamped.</summary>
    public long Take(string connectionKey) => _accepted.TryRemove(connectionKey, out var order) ? order : Interlocked.Increment(ref _last);

    /// <summary>Forgets a connection that went away before its connected event (its CONNACK could not be sent).</summary>
    public void Forget(string connectionKey) => _accepted.TryRemove(connectionKey, out _);
}
