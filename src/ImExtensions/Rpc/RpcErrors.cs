using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rpc;

internal static class RpcErrors
{
    public static RpcError InvalidRequest(string message) => new() { Code = "invalid_request", Message = message };

    public static RpcError NotAuthorized(string message) => new() { Code = "not_authorized", Message = message };

    public static RpcError UnknownMethod(string method) => new() { Code = "unknown_method", Message = $"no RPC method '{method}'; see docs/PROTOCOL.md" };

    public static RpcError Internal() => new() { Code = "internal", Message = "the request failed inside the broker; it was logged" };
}
