namespace MqttIm.ImExtensions.BrokerState.Store;

/// <summary>
/// The plain-MQTT state that outlives a restart (issue 13 item 11): retained messages, and the subscriptions and
/// unacknowledged QoS 1/2 messages of persistent sessions. SQLite, PostgreSQL or MongoDB by <c>Storage:Provider</c>.
/// </summary>
internal interface IBrokerStateStore
{
    Task<BrokerStateSnapshot> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Applies the changes in order (atomically where the backend has transactions); durable when it returns.</summary>
    Task ApplyAsync(IReadOnlyList<BrokerStateChange> changes, CancellationToken cancellationToken);
}
