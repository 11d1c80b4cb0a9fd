using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage;

/// <summary>Durable chat history: one row per conversation message, addressed by (conversation, seq).</summary>
/// <remarks>Implementations: <c>SqliteMessageStore</c> (embedded); cluster stores must pass the same contract tests.</remarks>
public interface IMessageStore
{
    /// <summary>Stores the batch atomically; when the task completes the messages survive a crash.</summary>
    Task AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken);

    /// <summary>Highest stored seq of a conversation, 0 when it has none.</summary>
    Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>The messages senders already stored under these client message ids (idempotent resends); absent keys were never stored.</summary>
    Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> messages with seq &gt; <paramref name="afterSeq"/>, ascending.</summary>
    Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> messages with seq &lt; <paramref name="beforeSeq"/>, returned ascending.</summary>
    Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken);

    /// <summary>Every conversation the user takes part in, with its max seq.</summary>
    Task<IReadOnlyList<ConversationHead>> GetConversationsAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>What makes a send idempotent: the sender and the id its client chose.</summary>
public readonly record struct ClientMsgKey(string SenderId, string ClientMsgId);

/// <summary>A conversation as seen from one member: its id and the highest seq stored in it.</summary>
public readonly record struct ConversationHead(string ConversationId, long MaxSeq);
