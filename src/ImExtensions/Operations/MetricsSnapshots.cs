using MqttIm.ImExtensions.Cluster;

namespace MqttIm.ImExtensions.Operations;

/// <summary>This node's full metrics snapshot: the IM layer's own counters plus every <see cref="IMetricsSnapshotContributor"/>.</summary>
internal sealed class MetricsSnapshots(ClusterNode node, TimeProvider time, ClientSubscriptions subscriptions, IEnumerable<IMetricsSnapshotContributor> contributors)
{
    public BrokerMetricsSnapshot Take() =>
        contributors.Aggregate(BrokerMetricsSnapshot.Take(node.NodeId, time, subscriptions.Count), (snapshot, contributor) => contributor.AddTo(snapshot));
}
