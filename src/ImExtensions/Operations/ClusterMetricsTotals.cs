using System.Text.Json;
using System.Text.Json.Nodes;

namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// The whole cluster's counters: the nodes' snapshots added up field by field (labelled series per label), with the
/// newest <c>timeMs</c> and the longest uptime; <c>nodeId</c> says "cluster" and <c>nodes</c> how many were added.
/// </summary>
public static class ClusterMetricsTotals
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly HashSet<string> Latest = ["timeMs", "uptimeSeconds"];

    public static JsonObject Sum(IReadOnlyCollection<BrokerMetricsSnapshot> snapshots)
    {
        var total = new JsonObject();
        foreach (var snapshot in snapshots)
        {
            Add(total, JsonSerializer.SerializeToNode(snapshot, Json)!.AsObject());
        }

        total["nodeId"] = "cluster";
        total["nodes"] = snapshots.Count;
        return total;
    }

    private static void Add(JsonObject total, JsonObject part)
    {
        foreach (var (name, value) in part)
        {
            switch (value)
            {
                case JsonObject labelled:
                    if (total[name] is not JsonObject into)
                    {
                        into = [];
                        total[name] = into;
                    }

                    Add(into, labelled);
                    break;
                case JsonValue number when number.TryGetValue<double>(out var x):
                    var current = total[name] is JsonValue existing && existing.TryGetValue<double>(out var y) ? y : (double?)null;
                    total[name] = current is not { } sum ? x : Latest.Contains(name) ? Math.Max(sum, x) : sum + x;
                    break;
            }
        }
    }
}
