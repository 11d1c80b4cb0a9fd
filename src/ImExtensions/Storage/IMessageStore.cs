using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage;

/// <summary>Durable conversation history: one entry per conversation event, addressed by (conversation, seq).</summary>
/// <remarks>
/// Implementations: <c>EmbeddedMessageStore</c> (embedded: a log file beside the SQLite database), <c>PostgresMessageStore</c>, <c>MongoMessageStore</c> (shared by
/// the nodes of a cluster); all pass the same contract tests. Several nodes may append to one conversation at once.
/// </remarks>
public interface IMessageStore
{
    /// <summary>
    /// Stores the batch durably, updates each conversation's head (max seq, last activity), and makes the sender and
    /// recipient of 1:1 messages (the recipient of notifications) participants of their conversation.
    /// </summary>
    /// <remarks>
    /// Atomic per conversation, not across conversations: when the call fails, each conversation of the batch has either
    /// none of its messages stored or (stores that cannot do more) a prefix of them in seq order, never a hole; a seq
    /// that is already stored fails the call. A message whose <see cref="ClientMsgKey"/> is already stored (a resend that
    /// raced with its original, possibly on another node) is not stored again: it comes back in
    /// <see cref="AppendResult.Duplicates"/> with the stored original.
    /// </remarks>
    Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken);

    /// <summary>Highest stored seq of a conversation, 0 when it has none.</summary>
    Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>The messages senders already stored under these client message ids (idempotent resends); absent keys were never stored.</summary>
    Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> messages with seq &gt; <paramref name="afterSeq"/>, ascending.</summary>
    Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> messages with seq &lt; <paramref name="beforeSeq"/>, returned ascending.</summary>
    Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken);

    /// <summary>One message, or null.</summary>
    Task<ChatMessage?> GetAsync(string conversationId, long seq, CancellationToken cancellationToken);
}

/// <summary>
/// What makes a send idempotent: the conversation, the sender and the id its client chose. The conversation is part of
/// the key so the check stays inside one conversation's shard (a resend always targets the same conversation).
/// </summary>
public readonly record struct ClientMsgKey(string ConversationId, string SenderId, string ClientMsgId)
{
    public static ClientMsgKey Of(ChatMessage message) => new(message.ConversationId, message.SenderId, message.ClientMsgId);
}

/// <summary>The outcome of an append: the batch's messages that were resends of stored ones, keyed by their client message key.</summary>
public sealed record AppendResult(IReadOnlyDictionary<ClientMsgKey, ChatMessage> Duplicates)
{
    public static AppendResult AllStored { get; } = new(new Dictionary<ClientMsgKey, ChatMessage>());
}
