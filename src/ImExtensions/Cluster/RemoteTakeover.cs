using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>This node's side of a cluster takeover: closes the local connection another node's newer one replaced.</summary>
/// <remarks>
/// The claim is written before the CONNACK, but this node registers the connection only after it (MQTTnet raises
/// ClientConnected then), so an eviction can arrive first. It is kept as pending and carried out when the connection
/// registers. Pending evictions name one connection (client id + remote end point), so a later connection of the same
/// client id is never hit; they are few, and ones whose connection never registered are pruned after a minute.
/// </remarks>
internal sealed class RemoteTakeover(ConnectedDeviceRegistry registry, IConnectionCloser disconnector, TimeProvider clock, ILogger<RemoteTakeover> logger)
{
    private static readonly TimeSpan PendingLifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(string ClientId, string ConnectionKey), DateTimeOffset> _pending = new();

    /// <summary>Disconnects the client with 0x8E if <paramref name="connectionKey"/> is its live connection here, or will be.</summary>
    public async Task DisconnectIfCurrentAsync(string clientId, string connectionKey)
    {
        // Recorded before the lookup: a connection that registers in between finds it in CarryOutPendingAsync.
        PrunePending();
        _pending[(clientId, connectionKey)] = clock.GetUtcNow();
        if (registry.Find(clientId) is { } device && device.ConnectionKey == connectionKey)
        {
            await CarryOutPendingAsync(clientId, connectionKey).ConfigureAwait(false);
        }
    }

    /// <summary>Called when a connection registers: closes it if another node took its client id over already.</summary>
    public async Task CarryOutPendingAsync(string clientId, string connectionKey)
    {
        if (!_pending.TryRemove((clientId, connectionKey), out _))
        {
            return;
        }

        try
        {
            await disconnector.DisconnectAsync(clientId, CloseReason.SessionTakenOver, "the client id connected on another node").ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not disconnect {ClientId} after its takeover on another node", clientId);
        }
    }

    private void PrunePending()
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var cutoff = clock.GetUtcNow() - PendingLifetime;
        foreach (var (key, at) in _pending)
        {
            if (at < cutoff)
            {
                _pending.TryRemove(key, out _);
            }
        }
    }
}
