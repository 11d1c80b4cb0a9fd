using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage;

/// <summary>Durable conversation history: one entry per conversation event, addressed by (conversation, seq).</summary>
/// <remarks>Implementations: <c>SqliteMessageStore</c> (embedded); cluster stores must pass the same contract tests.</remarks>
public interface IMessageStore
{
    /// <summary>
    /// Stores the batch atomically and durably, updates each conversation's head (max seq, last activity), and makes the
    /// sender and recipient of 1:1 messages (the recipient of notifications) participants of their conversation.
    /// </summary>
    Task AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken);

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

/// <summary>What makes a send idempotent: the sender and the id its client chose.</summary>
public readonly record struct ClientMsgKey(string SenderId, string ClientMsgId);
