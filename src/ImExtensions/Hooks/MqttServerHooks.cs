using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Operations;
using MqttIm.ImExtensions.Routing;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// The only subscriber to MqttServer events. Every handler is wrapped: an exception becomes an MQTT error answer
/// and a log line, because MQTTnet drops a client without CONNACK/PUBACK when a handler throws.
/// </summary>
internal sealed class MqttServerHooks
{
    private readonly ConnectionValidator _connections;
    private readonly DeviceLifecycle _lifecycle;
    private readonly SubscriptionInterceptor _subscriptions;
    private readonly PublishInterceptor _publishes;
    private readonly Rooms.RoomJoinHandler _rooms;
    private readonly ILogger<MqttServerHooks> _logger;
    private readonly LogThrottle _overflowLog;
    private readonly IotHub _iot;
    private readonly ClientSubscriptions _grantedSubscriptions;
    private readonly BrokerState.PersistentSessions _persistentSessions;
    private readonly BrokerState.RetainedMessagePersistence _retained;
    private readonly Wills.WillDelayScheduler _wills;
    private readonly SharedSubscriptionHooks _shared;

    public MqttServerHooks(
        ConnectionValidator connections,
        DeviceLifecycle lifecycle,
        SubscriptionInterceptor subscriptions,
        PublishInterceptor publishes,
        IotHub iot,
        ILogger<MqttServerHooks> logger,
        ClientSubscriptions grantedSubscriptions,
        Rooms.RoomJoinHandler rooms,
        BrokerState.PersistentSessions persistentSessions,
        BrokerState.RetainedMessagePersistence retained,
        SharedSubscriptionHooks shared,
        Wills.WillDelayScheduler wills)
    {
        _wills = wills;
        _shared = shared;
        _persistentSessions = persistentSessions;
        _retained = retained;
        _iot = iot;
        _grantedSubscriptions = grantedSubscriptions;
        _connections = connections;
        _lifecycle = lifecycle;
        _subscriptions = subscriptions;
        _publishes = publishes;
        _rooms = rooms;
        _logger = logger;
        _overflowLog = new LogThrottle(TimeProvider.System, TimeSpan.FromSeconds(1));
    }

    public void Attach(MqttServer server)
    {
        server.ValidatingConnectionAsync += async args =>
        {
            try
            {
                await _connections.ValidateAsync(args).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ImLog.HookFailed(_logger, ex, "connect", args.ClientId ?? "");
                args.ReasonCode = MqttConnectReasonCode.ServerUnavailable;
                args.ReasonString = "authentication failed inside the broker";
            }
        };

        server.QueuedApplicationMessageOverwrittenAsync += args =>
        {
            // A slow consumer's queue is full (Limits:MaxPendingMessagesPerClient): its oldest message was dropped.
            // IM devices see the seq gap and pull it with sync; the drop is counted and logged (throttled).
            ImMetrics.QueueOverflowDrops.Inc();
            if (_overflowLog.TryEnter(out var suppressed))
            {
                ImLog.QueueOverflow(_logger, args.ReceiverClientId, suppressed);
            }

            return Task.CompletedTask;
        };

        _shared.Attach(server); // $share/ groups follow sessions and acknowledgements

        server.ClientConnectedAsync += args => Guard("connected", args.ClientId, () => _lifecycle.OnConnectedAsync(args));
        server.ClientDisconnectedAsync += args => Guard("disconnected", args.ClientId, () => _lifecycle.OnDisconnectedAsync(args));
        server.ClientDisconnectedAsync += args => Guard("room-leave", args.ClientId, () =>
        {
            _rooms.Disconnected(args.ClientId, args.RemoteEndPoint?.ToString() ?? "local");
            return Task.CompletedTask;
        });
        server.SessionDeletedAsync += args => Guard("session-deleted", args.Id, () => _lifecycle.OnSessionDeletedAsync(args));

        // Wills (Wills/): after the lifecycle's handlers (MQTTnet runs them in order), so the device is registered when bound.
        server.ClientConnectedAsync += args => Guard("will-connected", args.ClientId, () =>
        {
            _wills.Connected(args.ClientId, DeviceLifecycle.ConnectionKeyOf(args.RemoteEndPoint), args.SessionItems);
            return Task.CompletedTask;
        });
        server.ClientDisconnectedAsync += args => Guard("will-disconnected", args.ClientId, () =>
        {
            _wills.Disconnected(args.ClientId, DeviceLifecycle.ConnectionKeyOf(args.RemoteEndPoint), args.DisconnectType switch
            {
                MqttClientDisconnectType.Takeover => Wills.WillConnectionEnd.Takeover,
                MqttClientDisconnectType.Clean when args.ReasonCode is null or MqttDisconnectReasonCode.NormalDisconnection => Wills.WillConnectionEnd.NormalDisconnect,
                _ => Wills.WillConnectionEnd.Abnormal, // DISCONNECT 0x04 "with Will Message" (or any other code) included
            });
            return Task.CompletedTask;
        });
        server.SessionDeletedAsync += args => Guard("will-session-deleted", args.Id, () =>
        {
            _wills.SessionEnded(args.Id);
            return Task.CompletedTask;
        });
        server.ClientConnectedAsync += args => Guard("device-connected", args.ClientId, () => _iot.OnConnectedAsync(args));
        server.ClientDisconnectedAsync += args => Guard("device-disconnected", args.ClientId, () => _iot.OnDisconnectedAsync(args));
        server.SessionDeletedAsync += args => Guard("device-session-deleted", args.Id, () => _iot.OnSessionDeletedAsync(args));
        server.ClientAcknowledgedPublishPacketAsync += args => Guard("acknowledged", args.ClientId, () => _iot.OnAcknowledgedAsync(args));
        server.SessionDeletedAsync += args =>
        {
            _grantedSubscriptions.SessionEnded(args.Id);
            return Task.CompletedTask;
        };

        // Retained messages and persistent sessions outlive a restart (BrokerState/). Loading runs at MQTTnet's start.
        server.LoadingRetainedMessageAsync += async args =>
        {
            await _persistentSessions.LoadAsync().ConfigureAwait(false);
            await _retained.LoadAsync(args).ConfigureAwait(false);
        };
        server.RetainedMessageChangedAsync += args => Guard("retained-changed", args.ClientId ?? "", () => _retained.ChangedAsync(args));
        server.RetainedMessagesClearedAsync += _ => _retained.ClearedAsync();
        server.ClientConnectedAsync += args => Guard("session-restore", args.ClientId, () => _persistentSessions.OnConnectedAsync(args));
        server.ClientDisconnectedAsync += args =>
        {
            _persistentSessions.OnDisconnected(args);
            return Task.CompletedTask;
        };
        server.SessionDeletedAsync += args =>
        {
            _persistentSessions.OnSessionDeleted(args.Id);
            return Task.CompletedTask;
        };
        server.ClientAcknowledgedPublishPacketAsync += args =>
        {
            _persistentSessions.OnAcknowledged(args);
            return Task.CompletedTask;
        };

        server.InterceptingSubscriptionAsync += async args =>
        {
            try
            {
                await _subscriptions.InterceptSubscribeAsync(args).ConfigureAwait(false);
                if ((int)args.Response.ReasonCode < 0x80)
                {
                    _grantedSubscriptions.Granted(args.ClientId, args.TopicFilter.Topic, (int)args.TopicFilter.QualityOfServiceLevel);
                    if (args.ProcessSubscription || SharedSubscriptions.SharedFilter.IsShared(args.TopicFilter.Topic))
                    {
                        _persistentSessions.Subscribed(args.ClientId, args.TopicFilter);
                    }
                }
            }
            catch (Exception ex)
            {
                ImLog.HookFailed(_logger, ex, "subscribe", args.ClientId);
                args.ProcessSubscription = false;
                args.Response.ReasonCode = MqttSubscribeReasonCode.ImplementationSpecificError;
            }
        };

        server.InterceptingUnsubscriptionAsync += async args =>
        {
            try
            {
                await _subscriptions.InterceptUnsubscribeAsync(args).ConfigureAwait(false);
                _grantedSubscriptions.Removed(args.ClientId, args.Topic);
                _persistentSessions.Unsubscribed(args.ClientId, args.Topic);
            }
            catch (Exception ex)
            {
                ImLog.HookFailed(_logger, ex, "unsubscribe", args.ClientId);
                args.Response.ReasonCode = MqttUnsubscribeReasonCode.ImplementationSpecificError;
            }
        };

        // Not an async lambda: plain-topic publishes complete synchronously and should not pay for a state machine.
        server.InterceptingPublishAsync += args =>
        {
            try
            {
                var intercepting = _publishes.InterceptAsync(args);
                return intercepting.IsCompletedSuccessfully ? Task.CompletedTask : AwaitPublishAsync(intercepting, args);
            }
            catch (Exception ex)
            {
                PublishFailed(args, ex);
                return Task.CompletedTask;
            }
        };
    }

    private async Task AwaitPublishAsync(Task intercepting, InterceptingPublishEventArgs args)
    {
        try
        {
            await intercepting.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            PublishFailed(args, ex);
        }
    }

    private void PublishFailed(InterceptingPublishEventArgs args, Exception ex)
    {
        ImLog.HookFailed(_logger, ex, "publish", args.ClientId);
        args.ProcessPublish = false;
        args.Response.ReasonCode = MqttPubAckReasonCode.ImplementationSpecificError;
        args.Response.ReasonString = "the broker failed to process this message; it was logged";
    }

    private async Task Guard(string hook, string clientId, Func<Task> handler)
    {
        try
        {
            await handler().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ImLog.HookFailed(_logger, ex, hook, clientId);
        }
    }
}
