using System.Collections.Concurrent;
using System.Text;
using Google.Protobuf;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.DeviceSdk.Wire;

namespace MqttIm.DeviceSdk.Rpc;

/// <summary>
/// Calls <c>im/rpc/{method}</c>: MQTT 5 with ResponseTopic <c>inbox/{user}/rpc</c> and the request id as CorrelationData,
/// MQTT 3.1.1 with the answer coming back as <c>InboxEvent.rpc</c> carrying the request id.
/// </summary>
internal sealed class RpcCaller(IMqttClient client, string userId, MqttProtocolVersion version, TimeSpan timeout)
{
    // When a refusing PUBACK arrives, the response (which carries the reason) normally follows immediately.
    private static readonly TimeSpan ResponseAfterRefusal = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, TaskCompletionSource<RpcResponse>> _pending = new(StringComparer.Ordinal);

    /// <summary>Calls the method and checks that the answer carries the expected result.</summary>
    public async Task<RpcResponse> CallAsync(
        string method, IMessage request, string requestId, RpcResponse.ResultOneofCase expected, CancellationToken cancellationToken)
    {
        var response = await CallAsync(method, request, requestId, cancellationToken).ConfigureAwait(false);
        return response.ResultCase == expected
            ? response
            : throw new MqttImRpcException(method, "unexpected_response", $"the broker answered with {response.ResultCase}");
    }

    public async Task<RpcResponse> CallAsync(string method, IMessage request, string requestId, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<RpcResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = completion;
        try
        {
            var builder = new MqttApplicationMessageBuilder()
                .WithTopic(Topics.Rpc(method))
                .WithPayload(WireCodec.Encode(request))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            if (version == MqttProtocolVersion.V500)
            {
                builder.WithContentType(WireCodec.ProtobufContentType)
                    .WithResponseTopic(Topics.RpcInbox(userId))
                    .WithCorrelationData(Encoding.UTF8.GetBytes(requestId));
            }

            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            var published = await client.PublishAsync(builder.Build(), timeoutSource.Token).ConfigureAwait(false);
            if (!SendRefusals.IsAccepted(published.ReasonCode))
            {
                timeoutSource.CancelAfter(ResponseAfterRefusal);
            }

            try
            {
                var response = await completion.Task.WaitAsync(timeoutSource.Token).ConfigureAwait(false);
                if (response.ResultCase == RpcResponse.ResultOneofCase.Error)
                {
                    throw new MqttImRpcException(method, response.Error.Code, response.Error.Message);
                }

                return response;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (!SendRefusals.IsAccepted(published.ReasonCode))
                {
                    throw new MqttImRpcException(method, SendRefusals.CodeOf(published.ReasonCode), published.ReasonString);
                }

                throw new TimeoutException($"no response to rpc {method} within {timeout}");
            }
        }
        finally
        {
            _pending.TryRemove(requestId, out _);
        }
    }

    /// <summary>Hands a received response to the call waiting for it; unknown ids (late answers) are ignored.</summary>
    public void Complete(string requestId, RpcResponse response)
    {
        if (_pending.TryGetValue(requestId, out var completion))
        {
            completion.TrySetResult(response);
        }
    }
}
