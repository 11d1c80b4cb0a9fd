namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// Adds a part of the broker that the IM layer does not reference (the push bridge) to the console's metrics snapshot.
/// Registered as many times as there are such parts; <see cref="MetricsSnapshots"/> applies them all.
/// </summary>
public interface IMetricsSnapshotContributor
{
    BrokerMetricsSnapshot AddTo(BrokerMetricsSnapshot snapshot);
}
