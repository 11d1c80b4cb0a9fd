using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MQTTnet.Packets;
using MQTTnet.Server;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>Connect, disconnect and session end: keeps the device registry, the router, session expiry and token expiry in step with MQTTnet.</summary>
internal sealed class DeviceLifecycle(
    ConnectedDeviceRegistry registry,
    IOnlineRouter router,
    ISessionPresence presence,
    DevicePlatformLimiter platformLimiter,
    Devices.IotConnections iotConnections,
    SessionExpiryTracker sessionExpiry,
    TokenExpiryEnforcer tokenExpiry,
    MqttServer server,
    IOfflineRecipientSink offlineRecipients,
    IClientIdClaims clientIdClaims,
    ConnectOrder connectOrder,
    ILogger<DeviceLifecycle> logger)
{

    /// <summary>Devices whose persistent session holds an inbox subscription: MQTTnet never stored it, so it is restored on resume.</summary>
    private readonly ConcurrentDictionary<string, string> _persistentInboxes = new(StringComparer.Ordinal);

    /// <summary>Inbox unsubscribes whose cluster directory write is still under way, by client id (never throw).</summary>
    private readonly ConcurrentDictionary<string, Task> _pendingInboxRemovals = new(StringComparer.Ordinal);

    public async Task OnConnectedAsync(ClientConnectedEventArgs args)
    {
        var format = WireFormat.Json;
        var platform = "";
        var ackOnReceipt = false;
        var inboxSendAck = false;
        foreach (var property in args.UserProperties ?? [])
        {
            if (property.Name == "format" && PayloadCodec.ParseFormatName(property.ReadValueAsString()) is { } chosen)
            {
                format = chosen;
            }
            else if (property.Name == "platform")
            {
                platform = property.ReadValueAsString().Trim().ToLowerInvariant();
            }
            else if (property.Name == "ack")
            {
                ackOnReceipt = string.Equals(property.ReadValueAsString().Trim(), "received", StringComparison.OrdinalIgnoreCase);
            }
            else if (property.Name == "send_ack")
            {
                inboxSendAck = string.Equals(property.ReadValueAsString().Trim(), "inbox", StringComparison.OrdinalIgnoreCase);
            }
        }

        var anonymous = string.IsNullOrEmpty(args.UserName); // ConnectionValidator lets these in only with Auth:AllowAnonymous
        var device = new ConnectedDevice(args.UserName ?? "", args.ClientId, args.ProtocolVersion == MQTTnet.Formatter.MqttProtocolVersion.V500, format, ConnectionKeyOf(args.RemoteEndPoint),
            platform, connectOrder.Take(ConnectionKeyOf(args.RemoteEndPoint)), iotConnections.IsDevice(args.ClientId), ackOnReceipt, inboxSendAck, anonymous);
        registry.Add(device);
        sessionExpiry.Connected(device.ClientId);
        tokenExpiry.Connected(device);
        if (!device.IsIotDevice && !device.IsAnonymous)
        {
            presence.Refresh(device.UserId);
        }
        platformLimiter.Enforce(device);
        ImMetrics.ConnectedDevices.Set(registry.Count);
        ImLog.DeviceConnected(logger, device.ClientId, device.UserId, args.ProtocolVersion.ToString(), format.ToString());
        await clientIdClaims.ConnectedAsync(device).ConfigureAwait(false);

        if (_persistentInboxes.ContainsKey(args.ClientId) && await server.GetSessionAsync(args.ClientId).ConfigureAwait(false) is { } session)
        {
            await RegisterInboxAsync(device, session).ConfigureAwait(false);
        }
    }

    public async Task OnDisconnectedAsync(ClientDisconnectedEventArgs args)
    {
        var key = ConnectionKeyOf(args.RemoteEndPoint);
        connectOrder.Forget(key);
        ImLog.DeviceDisconnected(logger, args.ClientId, args.UserName, args.DisconnectType.ToString(), key);
        tokenExpiry.Disconnected(args.ClientId, key);
        if (args.DisconnectType != MqttClientDisconnectType.Takeover)
        {
            // The session (if persistent) now waits for its device, at most Sessions:MaxSessionExpiry; or it ends now, when
            // its DISCONNECT set the expiry to 0 (MQTTnet keeps it then: it reads 0 as "absent").
            if (sessionExpiry.Disconnected(args.ClientId, key) && await server.GetSessionAsync(args.ClientId).ConfigureAwait(false) is { } ended)
            {
                await ended.DeleteAsync().ConfigureAwait(false);
            }
        }

        registry.Remove(args.ClientId, key);
        ImMetrics.ConnectedDevices.Set(registry.Count);
        if (args.DisconnectType != MqttClientDisconnectType.Takeover && !iotConnections.IsDevice(args.ClientId) && !string.IsNullOrEmpty(args.UserName))
        {
            // A takeover keeps the client id online: the new connection's refresh decides (usually: no change).
            presence.Refresh(args.UserName ?? "");
        }

        await router.UnregisterAsync(args.ClientId, key, CancellationToken.None).ConfigureAwait(false);
        await clientIdClaims.DisconnectedAsync(args.ClientId, key).ConfigureAwait(false);
    }

    public Task OnSessionDeletedAsync(SessionDeletedEventArgs args)
    {
        // The client id stays bound to its user (ClientIdOwnership): only the session state goes.
        ForgetSessionState(args.Id);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A clean start replaces the client id's old session without MQTTnet raising SessionDeleted,
    /// so what the broker kept for that session (inbox routing, presence watches) goes here.
    /// </summary>
    public void ForgetSessionState(string clientId)
    {
        _persistentInboxes.TryRemove(clientId, out _);
        presence.SessionEnded(clientId);
    }

    /// <summary>Routes the user's inbox events to this device until it unsubscribes, disconnects, or its session ends.</summary>
    public async ValueTask RegisterInboxAsync(ConnectedDevice device, MqttSessionStatus session)
    {
        if (_pendingInboxRemovals.TryGetValue(device.ClientId, out var removal))
        {
            await removal.ConfigureAwait(false); // an unsubscribe's directory write still under way goes first
        }

        // Remembered until MQTTnet deletes the session (clean sessions are deleted at disconnect).
        _persistentInboxes[device.ClientId] = device.UserId;
        await router.RegisterAsync(new OnlineDevice(device.UserId, device.ClientId, device.Format, device.ConnectionKey, new MqttSessionChannel(session)), CancellationToken.None).ConfigureAwait(false);
        offlineRecipients.DeviceOnline(device.UserId, device.ClientId); // pending pushes for what it now gets live are cancelled
    }

    /// <summary>
    /// Stops routing the user's inbox to this device (an inbox UNSUBSCRIBE) without waiting for the cluster directory:
    /// MQTTnet 5.2 calls the unsubscription interceptor inside a thread-affine lock, so it must not resume on another thread.
    /// The local routing is gone when this returns (the router drops it before its first await); the directory write
    /// finishes in the background, and a later inbox SUBSCRIBE of the same client id waits for it (no stale removal after it).
    /// </summary>
    public void UnregisterInbox(ConnectedDevice device)
    {
        _persistentInboxes.TryRemove(device.ClientId, out _);
        var pending = router.UnregisterAsync(device.ClientId, device.ConnectionKey, CancellationToken.None);
        if (pending.IsCompletedSuccessfully)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingInboxRemovals[device.ClientId] = done.Task;
        _ = FinishInboxRemovalAsync(device.ClientId, pending, done);
    }

    private async Task FinishInboxRemovalAsync(string clientId, ValueTask pending, TaskCompletionSource done)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The stale directory entry names a connection that no longer routes the inbox: it delivers nothing and expires.
            logger.LogWarning(ex, "Removing the inbox routing of {ClientId} from the cluster directory failed", clientId);
        }
        finally
        {
            done.TrySetResult();
            _pendingInboxRemovals.TryRemove(new KeyValuePair<string, Task>(clientId, done.Task));
        }
    }

    /// <summary>Tells connections of one client id apart: their remote end point (<see cref="ConnectionKeys.Of"/>).</summary>
    internal static string ConnectionKeyOf(System.Net.EndPoint? endPoint) => ConnectionKeys.Of(endPoint);
}
