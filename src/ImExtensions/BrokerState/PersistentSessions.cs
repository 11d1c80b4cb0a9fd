using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.BrokerState;

/// <summary>
/// Makes persistent sessions (MQTT 3.1.1 clean session 0, MQTT 5 Session Expiry Interval &gt; 0) survive a restart, which
/// MQTTnet 5.2 cannot: their subscriptions and unacknowledged QoS 1/2 plain-topic messages are written to the broker
/// state store, and when such a device reconnects after a restart (without clean start) its subscriptions are given back
/// to MQTTnet and its queue is delivered. Clean sessions cost nothing here.
/// </summary>
internal sealed class PersistentSessions(
    BrokerStateLoader loader,
    BrokerStateWriter writer,
    MqttServer server,
    SessionExpiryTracker expiry,
    IOptions<SessionOptions> options,
    TimeProvider clock,
    ILogger<PersistentSessions> logger)
{
    private readonly ConcurrentDictionary<string, PersistentSession> _sessions = new(StringComparer.Ordinal);

    // Client id → what its CONNECT asked for, between validation and the connected event (MQTTnet does not report it there).
    private readonly ConcurrentDictionary<string, (bool CleanStart, bool Persistent, long ExpirySeconds)> _connecting = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private volatile bool _loaded;
    private long _nextQueueId;

    public int Count => _sessions.Count;

    /// <summary>Reads the persisted sessions once (MQTTnet's start asks for retained messages first, so this runs before any client).</summary>
    public async Task LoadAsync()
    {
        if (_loaded)
        {
            return;
        }

        await _loadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_loaded)
            {
                return;
            }

            var snapshot = await loader.LoadAsync().ConfigureAwait(false);
            var now = clock.GetUtcNow();
            foreach (var stored in snapshot.Sessions)
            {
                var session = new PersistentSession(stored.ClientId) { AwaitingRestore = true, ExpirySeconds = stored.ExpirySeconds };
                _sessions[stored.ClientId] = session;
                // Connected when the broker went down: its wait starts now.
                var since = stored.DisconnectedAtMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(stored.DisconnectedAtMs) : now;
                expiry.Restored(stored.ClientId, since, (uint)Math.Min(stored.ExpirySeconds, uint.MaxValue));
            }

            foreach (var subscription in snapshot.Subscriptions)
            {
                if (_sessions.TryGetValue(subscription.ClientId, out var session))
                {
                    session.SetSubscription(subscription.Filter, subscription.Options);
                }
            }

            foreach (var queued in snapshot.Queued)
            {
                _nextQueueId = Math.Max(_nextQueueId, queued.QueueId);
                if (_sessions.TryGetValue(queued.ClientId, out var session))
                {
                    session.Enqueue(queued, int.MaxValue);
                }
            }

            _loaded = true;
            if (snapshot.Sessions.Count > 0)
            {
                logger.LogInformation("Restored {Sessions} persistent sessions with {Queued} queued messages from the store", snapshot.Sessions.Count, snapshot.Queued.Count);
            }
        }
        finally
        {
            _loadGate.Release();
        }
    }

    /// <summary>At CONNECT validation: whether this session is to outlive the connection.</summary>
    public void Connecting(string clientId, bool cleanStart, uint expirySeconds, bool mqtt5)
    {
        var persistent = mqtt5 ? expirySeconds > 0 : !cleanStart;
        _connecting[clientId] = (cleanStart, persistent, mqtt5 ? expirySeconds : uint.MaxValue);
    }

    public async Task OnConnectedAsync(ClientConnectedEventArgs args)
    {
        if (!_connecting.TryRemove(args.ClientId, out var intent))
        {
            return; // not a connection this broker tracks sessions for (IoT devices keep their own command queue)
        }

        await LoadAsync().ConfigureAwait(false);
        var clientId = args.ClientId;
        _sessions.TryGetValue(clientId, out var existing);
        if (existing is not null && intent.CleanStart)
        {
            Forget(clientId);
            existing = null;
        }

        if (existing is not null)
        {
            bool restore;
            lock (existing)
            {
                restore = existing.AwaitingRestore;
            }

            if (restore)
            {
                await RestoreAsync(existing).ConfigureAwait(false);
            }
        }

        if (!intent.Persistent)
        {
            if (existing is not null)
            {
                Forget(clientId); // resumed, but ends with this connection
            }

            return;
        }

        var session = existing ?? _sessions.GetOrAdd(clientId, id => new PersistentSession(id));
        lock (session)
        {
            session.ExpirySeconds = intent.ExpirySeconds;
            session.ConnectionKey = ConnectionKeys.Of(args.RemoteEndPoint);
        }

        writer.Enqueue(new BrokerStateChange.SessionSaved(new StoredSession(clientId, intent.ExpirySeconds, 0)));
    }

    public void OnDisconnected(ClientDisconnectedEventArgs args)
    {
        if (args.DisconnectType == MqttClientDisconnectType.Takeover || !_sessions.TryGetValue(args.ClientId, out var session))
        {
            return;
        }

        long expirySeconds;
        lock (session)
        {
            if (session.ConnectionKey != ConnectionKeys.Of(args.RemoteEndPoint))
            {
                return; // a later connection of the same client id owns it now
            }

            session.ConnectionKey = null;
            expirySeconds = session.ExpirySeconds;
        }

        writer.Enqueue(new BrokerStateChange.SessionSaved(new StoredSession(args.ClientId, expirySeconds, clock.GetUtcNow().ToUnixTimeMilliseconds())));
    }

    /// <summary>A DISCONNECT changed the Session Expiry Interval (to a non-zero value; zero ends the session).</summary>
    public void ExpiryChanged(string clientId, uint expirySeconds)
    {
        if (_sessions.TryGetValue(clientId, out var session))
        {
            lock (session)
            {
                session.ExpirySeconds = expirySeconds;
            }
        }
    }

    /// <summary>MQTTnet deleted the session (clean session ended, expiry): so does the store.</summary>
    public void OnSessionDeleted(string clientId) => Forget(clientId);

    /// <summary>The session expired while MQTTnet did not hold it (restored from the store, device never came back).</summary>
    public void Expired(string clientId) => Forget(clientId);

    public void Subscribed(string clientId, MqttTopicFilter filter)
    {
        if (!_sessions.TryGetValue(clientId, out var session))
        {
            return;
        }

        var options = PersistentSession.OptionsOf(filter);
        lock (session)
        {
            if (session.AwaitingRestore)
            {
                return; // this is the restore itself re-subscribing: already stored
            }

            session.SetSubscription(filter.Topic, options);
        }

        writer.Enqueue(new BrokerStateChange.SubscriptionSaved(new StoredSubscription(clientId, filter.Topic, options)));
    }

    public void Unsubscribed(string clientId, string filter)
    {
        if (!_sessions.TryGetValue(clientId, out var session))
        {
            return;
        }

        lock (session)
        {
            if (!session.RemoveSubscription(filter))
            {
                return;
            }
        }

        writer.Enqueue(new BrokerStateChange.SubscriptionDeleted(clientId, filter));
    }

    /// <summary>
    /// A plain-topic PUBLISH about to be routed: a copy goes into the store for every persistent session it reaches at
    /// QoS 1/2 (also those still waiting for their device after a restart), and the publisher's PUBACK waits for that write.
    /// </summary>
    public Task OnPlainPublishAsync(InterceptingPublishEventArgs args)
    {
        var message = args.ApplicationMessage;
        if (message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce || _sessions.IsEmpty)
        {
            return Task.CompletedTask;
        }

        List<BrokerStateChange>? changes = null;
        StoredMqttMessage? stored = null;
        var capacity = options.Value.MaxPersistedMessagesPerSession;
        foreach (var (clientId, session) in _sessions)
        {
            lock (session)
            {
                var qos = session.DeliveryQos(message.Topic, (int)message.QualityOfServiceLevel, clientId == args.ClientId);
                if (qos <= 0)
                {
                    continue;
                }

                stored ??= MqttMessageSnapshots.From(message, qos, clock.GetUtcNow().ToUnixTimeMilliseconds());
                var queued = new QueuedMqttMessage(clientId, Interlocked.Increment(ref _nextQueueId), stored.Qos == qos ? stored : stored with { Qos = qos });
                changes ??= [];
                changes.Add(new BrokerStateChange.MessageQueued(queued));
                if (session.Enqueue(queued, capacity) is { } dropped)
                {
                    changes.Add(new BrokerStateChange.QueuedMessageDeleted(clientId, dropped.QueueId));
                }
            }
        }

        return changes is null ? Task.CompletedTask : writer.SaveAsync(changes);
    }

    /// <summary>The device acknowledged a PUBLISH (PUBACK, or PUBCOMP for QoS 2): its stored copy goes.</summary>
    public void OnAcknowledged(ClientAcknowledgedPublishPacketEventArgs args)
    {
        if (!args.IsCompleted || !_sessions.TryGetValue(args.ClientId, out var session))
        {
            return;
        }

        QueuedMqttMessage? acknowledged;
        lock (session)
        {
            acknowledged = session.QueuedCount == 0 ? null : session.Acknowledge(args.PublishPacket);
        }

        if (acknowledged is not null)
        {
            writer.Enqueue(new BrokerStateChange.QueuedMessageDeleted(args.ClientId, acknowledged.QueueId));
        }
    }

    private async Task RestoreAsync(PersistentSession session)
    {
        List<(string Filter, int Options)> subscriptions;
        lock (session)
        {
            subscriptions = session.Subscriptions();
        }

        try
        {
            if (subscriptions.Count > 0)
            {
                // Runs through the subscription interceptor again: the ACL of today applies to yesterday's subscriptions.
                await server.SubscribeAsync(session.ClientId, subscriptions.Select(s => PersistentSession.FilterOf(s.Filter, s.Options)).ToList()).ConfigureAwait(false);
            }

            // Taken after the subscriptions are back: a message routed in between is then delivered twice rather than not at all.
            List<QueuedMqttMessage> queued;
            lock (session)
            {
                queued = session.Queued();
            }

            if (queued.Count > 0 && await server.GetSessionAsync(session.ClientId).ConfigureAwait(false) is { } status)
            {
                var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
                foreach (var entry in queued)
                {
                    if (MqttMessageSnapshots.ToMessage(entry.Message, now, retain: false) is { } message && status.TryEnqueueApplicationMessage(message, out _))
                    {
                        continue;
                    }

                    lock (session)
                    {
                        session.Remove(entry.QueueId); // expired meanwhile, or refused by MQTTnet's queue
                    }

                    writer.Enqueue(new BrokerStateChange.QueuedMessageDeleted(session.ClientId, entry.QueueId));
                }
            }
        }
        finally
        {
            lock (session)
            {
                session.AwaitingRestore = false;
            }
        }
    }

    private void Forget(string clientId)
    {
        if (_sessions.TryRemove(clientId, out _))
        {
            writer.Enqueue(new BrokerStateChange.SessionDeleted(clientId));
        }
    }
}
