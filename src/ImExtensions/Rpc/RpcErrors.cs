using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Rpc;

internal static class RpcErrors
{
    public static RpcError InvalidRequest(string message) => new() { Code = "invalid_request", Message = message };

    public static RpcError NotAuthorized(string message) => new() { Code = "not_authorized", Message = message };

    public static RpcError UnknownMethod(string method) => new() { Code = "unknown_method", Message = $"no RPC method '{method}'; see docs/PROTOCOL.md" };

    /// <summary>The store lane of this request is full: nothing was done, the caller should retry after a short backoff.</summary>
    public static RpcError Busy(StoreWorkKind kind) => new()
    {
        Code = "busy",
        Message = $"busy, retry: the broker's store {(kind == StoreWorkKind.Read ? "read" : "write")} queue is full; nothing was done",
    };

    public static RpcError Internal() => new() { Code = "internal", Message = "the request failed inside the broker; it was logged" };
}
