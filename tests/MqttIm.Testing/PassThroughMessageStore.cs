using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Testing;

/// <summary>A real message store behind a test's switches: every call goes to <paramref name="inner"/>; a subclass overrides the appends it holds or fails.</summary>
public abstract class PassThroughMessageStore(IMessageStore inner) : IMessageStore
{
    protected IMessageStore Inner => inner;

    public virtual Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken) => inner.AppendAsync(batch, cancellationToken);

    public Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken) => inner.GetMaxSeqAsync(conversationId, cancellationToken);

    public Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken) =>
        inner.FindByClientMsgIdsAsync(keys, cancellationToken);

    public Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        inner.ReadAfterAsync(conversationId, afterSeq, limit, cancellationToken);

    public Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken) =>
        inner.ReadBeforeAsync(conversationId, beforeSeq, limit, cancellationToken);

    public Task<ChatMessage?> GetAsync(string conversationId, long seq, CancellationToken cancellationToken) => inner.GetAsync(conversationId, seq, cancellationToken);
}
