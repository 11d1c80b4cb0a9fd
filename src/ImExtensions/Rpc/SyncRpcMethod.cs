using System.Buffers;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/sync</c>: each of the caller's conversations with its max seq, and the messages after the caller's cursors, one page at a time.</summary>
internal sealed class SyncRpcMethod(IMessageStore store, IOptions<ChatOptions> options) : IRpcMethod
{
    public string Name => "sync";

    public async Task<string> InvokeAsync(ConnectedDevice caller, ReadOnlySequence<byte> payload, WireFormat format, RpcResponse response, CancellationToken cancellationToken)
    {
        if (!PayloadCodec.TryDecode(SyncRequest.Parser, payload, format, out var request, out var error))
        {
            response.Error = RpcErrors.InvalidRequest(error!);
            return "";
        }

        var pageSize = options.Value.SyncPageSize;
        var remaining = request!.Limit > 0 ? Math.Min(request.Limit, pageSize) : pageSize;
        var result = new SyncResponse();
        var only = request.ConversationIds.Count > 0 ? request.ConversationIds.ToHashSet(StringComparer.Ordinal) : null;
        foreach (var head in await store.GetConversationsAsync(caller.UserId, cancellationToken).ConfigureAwait(false))
        {
            if (only is not null && !only.Contains(head.ConversationId))
            {
                continue;
            }

            var cursor = request.Cursors.TryGetValue(head.ConversationId, out var c) ? Math.Max(c, 0) : 0;
            var conversation = new ConversationSync { ConversationId = head.ConversationId, MaxSeq = head.MaxSeq };
            if (head.MaxSeq > cursor && remaining > 0)
            {
                var messages = await store.ReadAfterAsync(head.ConversationId, cursor, remaining, cancellationToken).ConfigureAwait(false);
                conversation.Messages.AddRange(messages);
                remaining -= messages.Count;
                cursor = messages.Count > 0 ? messages[^1].Seq : cursor;
            }

            conversation.HasMore = head.MaxSeq > cursor;
            result.HasMore |= conversation.HasMore;
            result.Conversations.Add(conversation);
        }

        response.Sync = result;
        return request.RequestId;
    }
}
