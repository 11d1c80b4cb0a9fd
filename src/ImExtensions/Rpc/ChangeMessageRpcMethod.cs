using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Rpc;

/// <summary>
/// <c>im/rpc/recall</c> and <c>im/rpc/edit</c>: within <c>Chat:ChangeWindow</c>, the sender (for recall also a group
/// owner/admin) writes a RECALL or EDIT event that points at the message. The event takes the conversation's next seq and
/// travels like a message, so every device converges through sync; the original stays in history for clients to apply it to.
/// </summary>
internal sealed class ChangeMessageRpcMethod(
    MessageKind kind,
    IMessageStore messages,
    IConversationStore conversations,
    GroupDirectory groups,
    MessageCommitQueue commitQueue,
    IContentFilter contentFilter,
    TimeProvider clock,
    IOptions<ChatOptions> options) : IRpcMethod
{
    public string Name => kind == MessageKind.Recall ? "recall" : "edit";

    public StoreWorkKind KindOf(string method) => StoreWorkKind.Write;

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(ChangeMessageRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var caller = call.Caller.UserId;
        var state = await conversations.GetAsync(caller, request.ConversationId, cancellationToken).ConfigureAwait(false);
        var target = state is null ? null : await messages.GetAsync(request.ConversationId, request.TargetSeq, cancellationToken).ConfigureAwait(false);
        if (state is null || target is null || target.Seq < state.JoinedSeq)
        {
            response.Error = RpcErrors.NotAuthorized($"no message {request.TargetSeq} of yours in '{request.ConversationId}'");
            return request.RequestId;
        }

        if (target.Kind != MessageKind.Normal)
        {
            response.Error = RpcErrors.InvalidRequest("only ordinary messages can be recalled or edited");
            return request.RequestId;
        }

        var snapshot = target.GroupId.Length > 0 ? await groups.GetAsync(target.GroupId, cancellationToken).ConfigureAwait(false) : null;
        var isSender = target.SenderId == caller;
        var mayRecallAsManager = kind == MessageKind.Recall && snapshot is not null && snapshot.IsManager(caller);
        if (!isSender && !mayRecallAsManager)
        {
            response.Error = RpcErrors.NotAuthorized(kind == MessageKind.Recall ? "only the sender or a group owner/admin may recall it" : "only the sender may edit it");
            return request.RequestId;
        }

        var age = clock.GetUtcNow().ToUnixTimeMilliseconds() - target.ServerTimeMs;
        if (age > options.Value.ChangeWindow.TotalMilliseconds && !mayRecallAsManager)
        {
            response.Error = new RpcError { Code = "window_expired", Message = $"messages can be changed for {options.Value.ChangeWindow} after sending" };
            return request.RequestId;
        }

        var text = "";
        if (kind == MessageKind.Edit)
        {
            var verdict = string.IsNullOrEmpty(request.Text) ? ContentVerdict.Reject("an edit needs the new text") : contentFilter.Review(request.Text);
            if (verdict.Rejected)
            {
                response.Error = RpcErrors.InvalidRequest(verdict.Reason!);
                return request.RequestId;
            }

            text = verdict.Text;
        }

        var draft = new ChatMessage
        {
            ConversationId = target.ConversationId,
            Kind = kind,
            TargetSeq = target.Seq,
            ClientMsgId = request.ClientMsgId,
            SenderId = caller,
            SenderDevice = call.Caller.ClientId,
            RecipientId = ConversationIds.PeerOf(target.ConversationId, caller) ?? "",
            GroupId = target.GroupId,
            Text = text,
            ContentType = kind == MessageKind.Recall ? "recall" : "edit",
        };
        try
        {
            var outcome = await commitQueue.SubmitAsync(new PendingSend(draft, call.Caller.ClientId), cancellationToken).ConfigureAwait(false);
            response.Changed = outcome.Message;
        }
        catch (StoreUnavailableException)
        {
            response.Error = new RpcError { Code = "store_unavailable", Message = "the change could not be stored; retry with the same client_msg_id" };
        }

        return request.RequestId;
    }
}
