using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk;

/// <summary>The RPC behind <see cref="MqttImGroups"/>.</summary>
public sealed partial class MqttImClient
{
    internal async Task<GroupInfo> CallGroupAsync(string action, GroupRequest request, CancellationToken cancellationToken)
    {
        EnsureConnected();
        request.RequestId = NewRequestId();
        var response = await Rpc.CallAsync($"group/{action}", request, request.RequestId, RpcResponse.ResultOneofCase.Group, cancellationToken).ConfigureAwait(false);
        return response.Group;
    }
}
