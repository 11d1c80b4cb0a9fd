namespace MqttIm.ImExtensions.Storage;

/// <summary>Each user's view of their conversations: membership, read position, pin and mute flags.</summary>
/// <remarks>
/// Implementations: <c>SqliteConversationStore</c> (embedded), <c>PostgresConversationStore</c>, <c>MongoConversationStore</c>;
/// all pass the same contract tests. Per-request paths read one page, one row or one aggregate, never every
/// conversation of a user (sync pages with <see cref="GetPageAsync"/>; <see cref="GetAllAsync"/> is for tests and tools).
/// </remarks>
public interface IConversationStore
{
    /// <summary>Every conversation the user takes part in, with its head and the user's state (full catch-up sync only).</summary>
    Task<IReadOnlyList<ConversationState>> GetAllAsync(string userId, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> of the user's conversations with an id after <paramref name="afterConversationId"/>
    /// (null or empty: from the first), in conversation id order (ordinal): the keyset page a catch-up sync reads per request.
    /// </summary>
    Task<IReadOnlyList<ConversationState>> GetPageAsync(string userId, string? afterConversationId, int limit, CancellationToken cancellationToken);

    /// <summary>The user's state in one conversation, or null when the user is not a participant.</summary>
    Task<ConversationState?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken);

    /// <summary>
    /// A page of the user's conversations after <paramref name="after"/> (null: the first page): pinned first, then by last
    /// activity (newest first), then by conversation id (descending), with their last message. Keyset paging: a page is
    /// found from its cursor without counting what comes before, and concurrent changes never repeat or skip rows that
    /// did not move.
    /// </summary>
    Task<ConversationPage> ListAsync(string userId, ConversationListCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The user's total unread over all their conversations (kept per user by the store, updated in the same commit as
    /// every change of an unread count, so this reads one row), and with
    /// <paramref name="conversationId"/> that conversation's state (null when not a participant) from the same read.
    /// </summary>
    Task<UnreadSummary> GetUnreadAsync(string userId, string? conversationId, CancellationToken cancellationToken);

    /// <summary>Whether the two users are participants of at least one common conversation (1:1 or group).</summary>
    Task<bool> ShareConversationAsync(string userId, string otherUserId, CancellationToken cancellationToken);

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

/// <summary>One page of a conversation list; <see cref="Next"/> is null on the last page.</summary>
public sealed record ConversationPage(IReadOnlyList<ConversationState> Conversations, ConversationListCursor? Next);

/// <summary>A user's total unread and, when asked for, one conversation's state read together with it.</summary>
public sealed record UnreadSummary(long TotalUnread, ConversationState? Conversation);
