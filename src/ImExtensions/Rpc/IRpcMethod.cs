using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using System.Buffers;

namespace MqttIm.ImExtensions.Rpc;

/// <summary>One <c>im/rpc/{method}</c> method: decodes its request and fills the response.</summary>
internal interface IRpcMethod
{
    string Name { get; }

    /// <summary>Returns the request id found in the payload (for 3.1.1 correlation), filling <paramref name="response"/>'s result.</summary>
    Task<string> InvokeAsync(ConnectedDevice caller, ReadOnlySequence<byte> payload, WireFormat format, RpcResponse response, CancellationToken cancellationToken);
}
