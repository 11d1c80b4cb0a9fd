using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace MqttIm.ImExtensions.BrokerState;

/// <summary>
/// What the broker keeps of one persistent session so it outlives a restart: its subscriptions and the QoS 1/2 messages
/// not yet acknowledged by its device. Every member is guarded by the instance's lock.
/// </summary>
internal sealed class PersistentSession(string clientId)
{
    private readonly Dictionary<string, int> _subscriptions = new(StringComparer.Ordinal);
    private readonly LinkedList<QueuedMqttMessage> _queue = new();

    public string ClientId { get; } = clientId;

    /// <summary>Loaded from the store after a restart and not yet handed back to MQTTnet (its device has not reconnected).</summary>
    public bool AwaitingRestore { get; set; }

    public long ExpirySeconds { get; set; }

    /// <summary>The connection it belongs to while its device is connected (null when offline).</summary>
    public string? ConnectionKey { get; set; }

    public int QueuedCount => _queue.Count;

    public void SetSubscription(string filter, int options) => _subscriptions[filter] = options;

    public bool RemoveSubscription(string filter) => _subscriptions.Remove(filter);

    public List<(string Filter, int Options)> Subscriptions() => [.. _subscriptions.Select(s => (s.Key, s.Value))];

    public List<QueuedMqttMessage> Queued() => [.. _queue];

    /// <summary>
    /// The QoS this session receives a message on <paramref name="topic"/> with (the highest of its matching subscriptions,
    /// at most the message's), or 0 when it gets none or only at QoS 0.
    /// </summary>
    public int DeliveryQos(string topic, int messageQos, bool ownMessage)
    {
        var best = -1;
        foreach (var (filter, options) in _subscriptions)
        {
            if ((options & 0x04) != 0 && ownMessage)
            {
                continue; // No Local
            }

            if (MqttTopicFilterComparer.Compare(topic, filter) == MqttTopicFilterCompareResult.IsMatch)
            {
                best = Math.Max(best, options & 0x03);
            }
        }

        return Math.Min(best, messageQos);
    }

    /// <summary>Appends; when the queue is full the oldest entry goes (as MQTTnet drops the oldest) and is returned.</summary>
    public QueuedMqttMessage? Enqueue(QueuedMqttMessage queued, int capacity)
    {
        _queue.AddLast(queued);
        if (_queue.Count <= capacity)
        {
            return null;
        }

        var oldest = _queue.First!.Value;
        _queue.RemoveFirst();
        return oldest;
    }

    /// <summary>Removes and returns the oldest queued entry this PUBLISH carried (acknowledgements come in send order, mostly).</summary>
    public QueuedMqttMessage? Acknowledge(MQTTnet.Packets.MqttPublishPacket packet)
    {
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            if (MqttMessageSnapshots.Carries(packet, node.Value.Message))
            {
                _queue.Remove(node);
                return node.Value;
            }
        }

        return null;
    }

    public void Remove(long queueId)
    {
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            if (node.Value.QueueId == queueId)
            {
                _queue.Remove(node);
                return;
            }
        }
    }

    public static int OptionsOf(MqttTopicFilter filter) =>
        (int)filter.QualityOfServiceLevel | (filter.NoLocal ? 0x04 : 0) | (filter.RetainAsPublished ? 0x08 : 0);

    public static MqttTopicFilter FilterOf(string filter, int options) => new MqttTopicFilterBuilder()
        .WithTopic(SharedSubscriptions.SharedFilter.ForInterceptor(filter)) // MQTTnet refuses "$share/" itself
        .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)(options & 0x03))
        .WithNoLocal((options & 0x04) != 0)
        .WithRetainAsPublished((options & 0x08) != 0)
        .WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe) // a resumed session is not a new subscription
        .Build();
}
