using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Rpc;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// <c>im/rpc/device/telemetry</c> (a page or the latest point of an owned device's telemetry) and <c>im/rpc/device/list</c>
/// (the caller's devices), for users; devices themselves may not publish on <c>im/…</c>.
/// </summary>
internal sealed class DeviceRpcMethod(DeviceAccess access, IDeviceStore devices, ITelemetryStore telemetry, DevicePresence presence) : IRpcMethod
{
    public const int MaxPage = 1000;

    public string Name => "device";

    public Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken) => call.Method switch
    {
        "device/telemetry" => TelemetryAsync(call, response, cancellationToken),
        "device/list" => ListAsync(call, response, cancellationToken),
        _ => Unknown(call, response),
    };

    private async Task<string> TelemetryAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(DeviceTelemetryRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        if (!await access.MayAccessAsync(call.Caller.UserId, request.DeviceId, cancellationToken).ConfigureAwait(false))
        {
            response.Error = RpcErrors.NotAuthorized($"user {call.Caller.UserId} does not own device '{request.DeviceId}'");
            return request.RequestId;
        }

        var page = new DeviceTelemetryPage { DeviceId = request.DeviceId };
        if (request.LatestOnly)
        {
            if (await telemetry.GetLatestAsync(request.DeviceId, cancellationToken).ConfigureAwait(false) is { } latest)
            {
                page.Points.Add(ToPoint(latest));
            }
        }
        else
        {
            var limit = request.Limit is > 0 and <= MaxPage ? request.Limit : 100;
            var points = await telemetry.QueryAsync(request.DeviceId, request.FromMs, request.ToMs > 0 ? request.ToMs : long.MaxValue, request.After, limit, cancellationToken).ConfigureAwait(false);
            page.Points.AddRange(points.Select(ToPoint));
            page.Next = points.Count == limit ? points[^1].Id : 0;
        }

        response.DeviceTelemetry = page;
        return request.RequestId;
    }

    private async Task<string> ListAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(DeviceListRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var principals = await access.PrincipalsOfAsync(call.Caller.UserId, cancellationToken).ConfigureAwait(false);
        var found = await devices.ListAsync(principals, request.After, request.Limit is > 0 and <= MaxPage ? request.Limit : 100, cancellationToken).ConfigureAwait(false);
        var list = new DeviceList();
        list.Devices.AddRange(found.Select(d =>
        {
            var state = presence.Get(d.DeviceId);
            return new DeviceInfo { DeviceId = d.DeviceId, Online = state.Online, LastSeenMs = state.LastSeenMs, Disabled = d.Disabled };
        }));
        response.Devices = list;
        return request.RequestId;
    }

    private static Task<string> Unknown(RpcCall call, RpcResponse response)
    {
        response.Error = RpcErrors.UnknownMethod(call.Method);
        return Task.FromResult("");
    }

    private static DeviceTelemetryPoint ToPoint(TelemetryPoint point) => new()
    {
        Id = point.Id,
        ReceivedMs = point.ReceivedMs,
        Subtopic = point.Subtopic,
        ContentType = point.ContentType,
        Payload = Google.Protobuf.ByteString.CopyFrom(point.Payload),
    };
}
