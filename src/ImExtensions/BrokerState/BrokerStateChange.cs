namespace MqttIm.ImExtensions.BrokerState;

/// <summary>One change to the persisted broker state; the writer applies a batch of them in order, in one transaction where the backend has them.</summary>
internal abstract record BrokerStateChange
{
    private BrokerStateChange()
    {
    }

    /// <summary>Sets (or replaces) the retained message of its topic.</summary>
    public sealed record RetainedSet(StoredMqttMessage Message) : BrokerStateChange;

    public sealed record RetainedDeleted(string Topic) : BrokerStateChange;

    public sealed record RetainedCleared : BrokerStateChange;

    public sealed record SessionSaved(StoredSession Session) : BrokerStateChange;

    /// <summary>The session, its subscriptions and its queue are gone.</summary>
    public sealed record SessionDeleted(string ClientId) : BrokerStateChange;

    public sealed record SubscriptionSaved(StoredSubscription Subscription) : BrokerStateChange;

    public sealed record SubscriptionDeleted(string ClientId, string Filter) : BrokerStateChange;

    public sealed record MessageQueued(QueuedMqttMessage Queued) : BrokerStateChange;

    public sealed record QueuedMessageDeleted(string ClientId, long QueueId) : BrokerStateChange;
}
