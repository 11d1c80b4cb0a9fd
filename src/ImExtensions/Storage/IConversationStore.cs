namespace MqttIm.ImExtensions.Storage;

/// <summary>Each user's view of their conversations: membership, read position, pin and mute flags.</summary>
/// <remarks>Implementations: <c>SqliteConversationStore</c> (embedded); cluster stores must pass the same contract tests.</remarks>
public interface IConversationStore
{
    /// <summary>Every conversation the user takes part in, with its head and the user's state.</summary>
    Task<IReadOnlyList<ConversationState>> GetAllAsync(string userId, CancellationToken cancellationToken);

    /// <summary>The user's state in one conversation, or null when the user is not a participant.</summary>
    Task<ConversationState?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken);

    /// <summary>A page of the user's conversations, pinned first, then by last activity (newest first), with their last message.</summary>
    Task<IReadOnlyList<ConversationState>> ListAsync(string userId, int offset, int limit, CancellationToken cancellationToken);

    /// <summary>Makes users participants from <paramref name="joinedSeq"/> on (their read position starts just before it).</summary>
    Task AddParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, long joinedSeq, CancellationToken cancellationToken);

    Task RemoveParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken);

    /// <summary>Moves the read position forward to <paramref name="seq"/> (capped at the conversation's max seq, never backwards); null when not a participant.</summary>
    Task<long?> MarkReadAsync(string userId, string conversationId, long seq, CancellationToken cancellationToken);

    /// <summary>Changes the given flags; null leaves a flag as it is. False when not a participant.</summary>
    Task<bool> SetFlagsAsync(string userId, string conversationId, bool? pinned, bool? muted, CancellationToken cancellationToken);

    /// <summary>Every participant's read position in a conversation.</summary>
    Task<IReadOnlyDictionary<string, long>> GetReadPositionsAsync(string conversationId, CancellationToken cancellationToken);
}

/// <summary>One user's view of one conversation. <see cref="LastMessage"/> is filled by listing only.</summary>
public sealed record ConversationState(
    string ConversationId,
    long MaxSeq,
    long ReadSeq,
    long JoinedSeq,
    bool Pinned,
    bool Muted,
    long LastActivityMs,
    Contracts.V1.ChatMessage? LastMessage = null)
{
    /// <summary>Unread = max seq − read position (messages before joining never count).</summary>
    public long Unread => Math.Max(0, MaxSeq - Math.Max(ReadSeq, JoinedSeq - 1));
}
