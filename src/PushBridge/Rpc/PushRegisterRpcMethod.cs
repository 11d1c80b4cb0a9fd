using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Rpc;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Rpc;

/// <summary><c>im/rpc/push/register</c>: the calling device registers (or moves to its user) one vendor token.</summary>
internal sealed class PushRegisterRpcMethod(PushTokenRegistry registry) : IRpcMethod
{
    public string Name => "push/register";

    public MqttIm.ImExtensions.Storage.Offload.StoreWorkKind KindOf(string method) => MqttIm.ImExtensions.Storage.Offload.StoreWorkKind.Write;

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(PushRegisterRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var registration = new PushRegistration(request.Vendor, request.AppId, request.Token, request.Environment, request.Locale, request.Privacy,
            request.Preference, request.DeviceId.Length > 0 ? request.DeviceId : call.Caller.ClientId);
        if (registry.Validate(registration) is { } error)
        {
            response.Error = RpcErrors.InvalidRequest(error);
            return request.RequestId;
        }

        await registry.RegisterAsync(call.Caller.UserId, registration, cancellationToken).ConfigureAwait(false);
        response.PushTokens = await registry.DescribeAsync(call.Caller.UserId, removed: 0, cancellationToken).ConfigureAwait(false);
        return request.RequestId;
    }
}
