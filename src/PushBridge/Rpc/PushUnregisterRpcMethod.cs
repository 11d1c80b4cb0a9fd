using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Rpc;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Rpc;

/// <summary><c>im/rpc/push/unregister</c>: removes one token of the caller, or every token of the calling device (logout).</summary>
internal sealed class PushUnregisterRpcMethod(PushTokenRegistry registry) : IRpcMethod
{
    public string Name => "push/unregister";

    public MqttIm.ImExtensions.Storage.Offload.StoreWorkKind KindOf(string method) => MqttIm.ImExtensions.Storage.Offload.StoreWorkKind.Write;

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(PushUnregisterRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var userId = call.Caller.UserId;
        int removed;
        if (request.AllDeviceTokens)
        {
            removed = await registry.UnregisterDeviceAsync(userId, request.DeviceId.Length > 0 ? request.DeviceId : call.Caller.ClientId, cancellationToken).ConfigureAwait(false);
        }
        else if (request.Vendor.Length > 0 && request.Token.Length > 0)
        {
            removed = await registry.UnregisterAsync(userId, request.Vendor, request.Token, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }
        else
        {
            response.Error = RpcErrors.InvalidRequest("give vendor and token, or all_device_tokens=true");
            return request.RequestId;
        }

        response.PushTokens = await registry.DescribeAsync(userId, removed, cancellationToken).ConfigureAwait(false);
        return request.RequestId;
    }
}
