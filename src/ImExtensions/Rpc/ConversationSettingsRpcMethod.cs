using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/conversation/settings</c>: pins or mutes (notifications of) one conversation for the caller.</summary>
internal sealed class ConversationSettingsRpcMethod(IConversationStore conversations) : IRpcMethod
{
    public string Name => "conversation";

    public StoreWorkKind KindOf(string method) => StoreWorkKind.Write;

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(ConversationSettingsRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        if (call.Method != "conversation/settings")
        {
            response.Error = RpcErrors.UnknownMethod(call.Method);
            return request.RequestId;
        }

        var user = call.Caller.UserId;
        if (!await conversations.SetFlagsAsync(user, request.ConversationId, request.HasPinned ? request.Pinned : null, request.HasMuted ? request.Muted : null, cancellationToken).ConfigureAwait(false))
        {
            response.Error = RpcErrors.NotAuthorized($"user {user} is not in conversation '{request.ConversationId}'");
            return request.RequestId;
        }

        var state = await conversations.GetAsync(user, request.ConversationId, cancellationToken).ConfigureAwait(false);
        response.Conversation = ConversationsRpcMethod.ToInfo(state!);
        return request.RequestId;
    }
}
