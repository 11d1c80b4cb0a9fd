namespace MqttIm.PushBridge.Jobs;

/// <summary>
/// One pending notification for one user: what the phone will show and when it is due. Lower-priority messages merge
/// into the user's open job (<see cref="MessageCount"/> grows, <see cref="MessageIds"/> lists them) until it is sent.
/// </summary>
public sealed record PushJob
{
    public required string Id { get; init; }

    public required string UserId { get; init; }

    /// <summary>0 (P0, immediate) to 3 (P3).</summary>
    public required int Priority { get; init; }

    public required long CreatedMs { get; init; }

    public required long DueMs { get; init; }

    /// <summary>The newest notification with this id replaces older ones on the phone (apns-collapse-id, FCM collapse_key, HMS tag).</summary>
    public required string CollapseId { get; init; }

    /// <summary>Who the newest message is from (a user id, or "system" for notifications).</summary>
    public required string SenderId { get; init; }

    /// <summary>The conversation of the newest message; several conversations merged leave the last one here.</summary>
    public required string ConversationId { get; init; }

    /// <summary>Title and text of the newest message (the composer decides what the phone shows).</summary>
    public string Title { get; init; } = "";

    public string Text { get; init; } = "";

    /// <summary>Distinct senders merged into this job (for "from Alice and Bob").</summary>
    public IReadOnlyList<string> Senders { get; init; } = [];

    public IReadOnlyList<string> MessageIds { get; init; } = [];

    public int MessageCount { get; init; } = 1;

    /// <summary>
    /// The cluster node whose scheduler sends this job (empty on a single node). Only that node loads it after a restart;
    /// when the node dies, the survivor that cleans up after it adopts its jobs.
    /// </summary>
    public string OwnerNode { get; init; } = "";

    /// <summary>How many times sending was attempted and postponed (rate limit, retries exhausted).</summary>
    public int Attempts { get; init; }
}
