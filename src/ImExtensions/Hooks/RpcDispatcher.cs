using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Rpc;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// <c>im/rpc/{method}</c>: MQTT 5 callers get the response on their ResponseTopic (inside their inbox) with their CorrelationData;
/// 3.1.1 callers, or callers without a ResponseTopic, get an <c>InboxEvent.rpc</c> on <c>inbox/{userId}</c> carrying their request id.
/// The response goes to the calling device only, in the request's wire format. Handlers run on the
/// <see cref="StoreWorkPool"/> (never on the socket thread); a full lane answers <c>busy</c> at once.
/// </summary>
internal sealed class RpcDispatcher
{
    private readonly Dictionary<string, IRpcMethod> _methods;
    private readonly DirectSessionPublisher _publisher;
    private readonly StoreWorkPool _workers;
    private readonly ILogger<RpcDispatcher> _logger;

    public RpcDispatcher(IEnumerable<IRpcMethod> methods, DirectSessionPublisher publisher, StoreWorkPool workers, ILogger<RpcDispatcher> logger)
    {
        _methods = methods.ToDictionary(m => m.Name, StringComparer.Ordinal);
        _publisher = publisher;
        _workers = workers;
        _logger = logger;
    }

    public async Task HandleAsync(InterceptingPublishEventArgs args, ConnectedDevice caller, string method)
    {
        args.ProcessPublish = false;
        var request = args.ApplicationMessage;
        var inbox = InboxTopic.For(caller.UserId);
        var responseTopic = caller.IsMqtt5 && !string.IsNullOrEmpty(request.ResponseTopic) ? request.ResponseTopic : null;
        if (responseTopic is not null && responseTopic != inbox && !responseTopic.StartsWith(inbox + "/", StringComparison.Ordinal))
        {
            args.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            args.Response.ReasonString = $"the response topic must be {inbox} or below it";
            return;
        }

        var format = PayloadCodec.Detect(request.Payload, request.ContentType);
        var response = new RpcResponse { Method = method };
        var slash = method.IndexOf('/');
        if (!_methods.TryGetValue(method, out var handler) && (slash < 0 || !_methods.TryGetValue(method[..slash], out handler)))
        {
            response.Error = RpcErrors.UnknownMethod(method);
            args.Response.ReasonCode = MqttPubAckReasonCode.TopicNameInvalid;
            args.Response.ReasonString = response.Error.Message;
        }
        else
        {
            var call = new RpcCall(caller, method, request.Payload, format);
            var kind = handler.KindOf(method);
            if (!_workers.TryRun(kind, ct => handler.InvokeAsync(call, response, ct), args.CancellationToken, out var invocation))
            {
                // Counted in mqttim_store_work_refused_total; Debug only, since an overload would flood the log.
                _logger.LogDebug("RPC {Method} of client {ClientId} refused: the store {Kind} lane is full", method, caller.ClientId, kind);
                response.Error = RpcErrors.Busy(kind);
            }
            else
            {
                try
                {
                    response.RequestId = await invocation.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogError(ex, "RPC {Method} of client {ClientId} failed", method, caller.ClientId);
                    response.Error = RpcErrors.Internal();
                }
            }

            if (response.ResultCase == RpcResponse.ResultOneofCase.Error)
            {
                args.Response.ReasonCode = response.Error.Code switch
                {
                    "not_authorized" => MqttPubAckReasonCode.NotAuthorized,
                    "invalid_request" => MqttPubAckReasonCode.PayloadFormatInvalid,
                    "busy" => MqttPubAckReasonCode.QuotaExceeded,
                    _ => MqttPubAckReasonCode.ImplementationSpecificError,
                };
                args.Response.ReasonString = response.Error.Message;
            }
        }

        var outbound = responseTopic is not null
            ? new OutboundEvent(response).ToMqttMessage(responseTopic, format, request.CorrelationData)
            : new OutboundEvent(new InboxEvent { Rpc = response }).ToMqttMessage(inbox, format);
        await _publisher.PublishAsync(caller.ClientId, outbound).ConfigureAwait(false);
    }
}
