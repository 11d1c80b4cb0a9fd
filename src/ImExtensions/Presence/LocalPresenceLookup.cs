using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Presence;

/// <summary>Single node: the last announced state is the whole truth.</summary>
internal sealed class LocalPresenceLookup(PresenceTracker tracker) : IPresenceLookup
{
    public ValueTask<PresenceState> CurrentAsync(string userId) => new(tracker.Get(userId));
}
