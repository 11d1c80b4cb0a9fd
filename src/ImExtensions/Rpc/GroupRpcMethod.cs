using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Rpc;

/// <summary><c>im/rpc/group/{create|rename|dissolve|add_members|remove_members|set_role|mute|info}</c>, with the caller's role checked.</summary>
internal sealed class GroupRpcMethod(GroupService groups) : IRpcMethod
{
    public string Name => "group";

    public StoreWorkKind KindOf(string method) => method == "group/info" ? StoreWorkKind.Read : StoreWorkKind.Write;

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(GroupRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var actor = new GroupActor(call.Caller.UserId, call.Caller.ClientId, IsOperator: false);
        try
        {
            response.Group = call.Method switch
            {
                "group/create" => await groups.CreateAsync(actor, request.GroupId, request.Name, actor.UserId, request.UserIds, cancellationToken).ConfigureAwait(false),
                "group/rename" => await groups.RenameAsync(actor, request.GroupId, request.Name, cancellationToken).ConfigureAwait(false),
                "group/dissolve" => await groups.DissolveAsync(actor, request.GroupId, cancellationToken).ConfigureAwait(false),
                "group/add_members" => await groups.AddMembersAsync(actor, request.GroupId, request.UserIds, cancellationToken).ConfigureAwait(false),
                "group/remove_members" => await groups.RemoveMembersAsync(actor, request.GroupId, request.UserIds, cancellationToken).ConfigureAwait(false),
                "group/set_role" => await groups.SetRoleAsync(actor, request.GroupId, request.UserIds, request.Role, cancellationToken).ConfigureAwait(false),
                "group/mute" => await groups.MuteAsync(actor, request.GroupId, request.UserIds, request.MuteSeconds, request.AllMuted, cancellationToken).ConfigureAwait(false),
                "group/info" => await groups.GetInfoAsync(actor, request.GroupId, cancellationToken).ConfigureAwait(false),
                _ => throw new GroupOperationException("unknown_method", $"no RPC method '{call.Method}'"),
            };
        }
        catch (GroupOperationException ex)
        {
            response.Error = new RpcError { Code = ex.Code, Message = ex.Message };
        }

        return request.RequestId;
    }
}
