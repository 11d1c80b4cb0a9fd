namespace MqttIm.PushBridge.Diagnostics;

/// <summary>The push series the operations console charts, read back from the same prometheus-net objects <c>/metrics</c> exports.</summary>
internal static class PushMetricsReader
{
    /// <summary><c>mqttim_push_outcomes_total</c> summed over vendors, by result (delivered, failed, no_token, …).</summary>
    public static Dictionary<string, double> OutcomesByResult()
    {
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var labels in PushMetrics.Outcomes.GetAllLabelValues())
        {
            var result = labels[1];
            totals[result] = totals.GetValueOrDefault(result) + PushMetrics.Outcomes.WithLabels(labels).Value;
        }

        return totals;
    }

    public static double PendingJobs => PushMetrics.PendingJobs.Value;
}
