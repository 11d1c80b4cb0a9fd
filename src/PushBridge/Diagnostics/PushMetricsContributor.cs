using MqttIm.ImExtensions.Operations;

namespace MqttIm.PushBridge.Diagnostics;

/// <summary>The push series of the console's metrics snapshot: outcomes by result (summed over vendors) and pending jobs.</summary>
internal sealed class PushMetricsContributor : IMetricsSnapshotContributor
{
    public BrokerMetricsSnapshot AddTo(BrokerMetricsSnapshot snapshot)
    {
        var outcomes = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var labels in PushMetrics.Outcomes.GetAllLabelValues())
        {
            var result = labels[1]; // labels: vendor, result
            outcomes[result] = outcomes.GetValueOrDefault(result) + PushMetrics.Outcomes.WithLabels(labels).Value;
        }

        return snapshot with { PushOutcomes = outcomes, PushPendingJobs = PushMetrics.PendingJobs.Value };
    }
}
