using System.Buffers;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Rpc;

/// <summary>One <c>im/rpc/{method}</c> method (or a family: <c>group</c> answers <c>group/…</c>).</summary>
internal interface IRpcMethod
{
    string Name { get; }

    /// <summary>The store lane <paramref name="method"/> runs in (methods that change state say <see cref="StoreWorkKind.Write"/>).</summary>
    StoreWorkKind KindOf(string method) => StoreWorkKind.Read;

    /// <summary>Fills <paramref name="response"/>'s result and returns the request id found in the payload (3.1.1 correlation).</summary>
    Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken);
}

/// <summary>One RPC request: who asks, the full method path, and the payload in its wire format.</summary>
internal sealed record RpcCall(ConnectedDevice Caller, string Method, ReadOnlySequence<byte> Payload, WireFormat Format)
{
    /// <summary>Decodes the request, or fills an invalid_request error and returns null.</summary>
    public T? Decode<T>(Google.Protobuf.MessageParser<T> parser, RpcResponse response) where T : class, Google.Protobuf.IMessage<T>, new()
    {
        if (PayloadCodec.TryDecode(parser, Payload, Format, out var request, out var error))
        {
            return request;
        }

        response.Error = RpcErrors.InvalidRequest(error!);
        return null;
    }
}
