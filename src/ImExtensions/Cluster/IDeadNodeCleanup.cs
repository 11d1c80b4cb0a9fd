namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Work a dead node leaves behind (its devices' presence, its pending push jobs …). Called on exactly one surviving node
/// per death: the one whose heartbeat noticed it first and claimed its cleanup key.
/// </summary>
public interface IDeadNodeCleanup
{
    Task NodeDiedAsync(string deadNodeId);
}
