namespace MqttIm.ImExtensions.Storage;

/// <summary>
/// Who has written in which 1:1 conversation. A conversation both sides wrote in is a relation both made, which the
/// presence watch policy requires (one unanswered message is not).
/// </summary>
/// <remarks>Implementations: SQLite (embedded), PostgreSQL, MongoDB; all pass <c>ConversationWriterStoreContract</c>.</remarks>
public interface IConversationWriterStore
{
    /// <summary>Records that the user wrote in the conversation (idempotent).</summary>
    Task AddAsync(string conversationId, string userId, CancellationToken cancellationToken);

    /// <summary>The users who wrote in the conversation (at most the two participants of a 1:1 conversation).</summary>
    Task<IReadOnlyCollection<string>> GetWritersAsync(string conversationId, CancellationToken cancellationToken);
}
