using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>Configuration section <c>Sessions</c>: how long the broker keeps the session of a device that went away.</summary>
public sealed class SessionOptions
{
    public const string SectionName = "Sessions";

    /// <summary>
    /// Longest time a persistent session (MQTT 3.1.1 clean session 0, MQTT 5 Session Expiry Interval &gt; 0) is kept after
    /// its device disconnected; a longer MQTT 5 expiry is capped to this. MQTTnet keeps sessions forever otherwise.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan MaxSessionExpiry { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Most unacknowledged QoS 1/2 messages kept in the store for one persistent session (so it gets them after a restart);
    /// past it the oldest goes, as MQTTnet drops the oldest of a full queue (<c>Limits:MaxPendingMessagesPerClient</c>).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxPersistedMessagesPerSession { get; set; } = 1000;

    /// <summary>How often expired sessions are looked for (at most this late past their expiry).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(30);
}
