using MqttIm.ImExtensions.Operations;

namespace MqttIm.ImExtensions.Tests.Operations;

public sealed class ClusterMetricsTotalsTests
{
    private static BrokerMetricsSnapshot Node(string nodeId, long timeMs, double uptime, double accepted, long clients, Dictionary<string, double> commands) =>
        BrokerMetricsSnapshot.Take(nodeId, TimeProvider.System, 0) with
        {
            TimeMs = timeMs,
            UptimeSeconds = uptime,
            MessagesAccepted = accepted,
            ConnectedClients = clients,
            DeviceCommands = commands,
            PushOutcomes = new Dictionary<string, double> { ["no_token"] = accepted },
        };

    [Fact]
    public void Counters_and_labelled_series_add_up_while_time_and_uptime_take_the_newest()
    {
        var total = ClusterMetricsTotals.Sum([
            Node("a", 1_000, 50, 3, 2, new() { ["issued"] = 4, ["succeeded"] = 1 }),
            Node("b", 1_200, 20, 5, 7, new() { ["issued"] = 1, ["failed"] = 1 }),
        ]);

        Assert.Equal("cluster", total["nodeId"]!.GetValue<string>());
        Assert.Equal(2, total["nodes"]!.GetValue<int>());
        Assert.Equal(8, total["messagesAccepted"]!.GetValue<double>());
        Assert.Equal(9, total["connectedClients"]!.GetValue<double>());
        Assert.Equal(1_200, total["timeMs"]!.GetValue<double>());
        Assert.Equal(50, total["uptimeSeconds"]!.GetValue<double>());
        var commands = total["deviceCommands"]!.AsObject();
        Assert.Equal(5, commands["issued"]!.GetValue<double>());
        Assert.Equal(1, commands["succeeded"]!.GetValue<double>());
        Assert.Equal(1, commands["failed"]!.GetValue<double>());
        Assert.Equal(8, total["pushOutcomes"]!["no_token"]!.GetValue<double>());
    }

    [Fact]
    public void One_node_is_its_own_total()
    {
        var total = ClusterMetricsTotals.Sum([Node("only", 5, 1, 2, 1, new() { ["issued"] = 2 })]);
        Assert.Equal(2, total["messagesAccepted"]!.GetValue<double>());
        Assert.Equal(1, total["nodes"]!.GetValue<int>());
    }
}
