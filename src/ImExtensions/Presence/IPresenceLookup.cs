using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Presence;

/// <summary>The presence a new watcher is handed first (the retained state): this node's, or in cluster mode the whole cluster's.</summary>
internal interface IPresenceLookup
{
    ValueTask<PresenceState> CurrentAsync(string userId);
}
