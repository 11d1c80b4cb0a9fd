using Microsoft.Extensions.Logging;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>Cluster log lines (event ids 900–919).</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(900, LogLevel.Warning, "Node {NodeId} could not handle a message from another node")]
    public static partial void NodeMessageFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(901, LogLevel.Warning, "Node {NodeId}: heartbeat failed; retrying")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(902, LogLevel.Information, "Node {DeadNodeId} stopped heartbeating: removed it and its device entries")]
    public static partial void NodeRemoved(ILogger logger, string deadNodeId);

    [LoggerMessage(903, LogLevel.Information, "Cluster node {NodeId} on Redis; advertised at {Host}:{MqttPort}")]
    public static partial void NodeJoined(ILogger logger, string nodeId, string host, int mqttPort);

    [LoggerMessage(904, LogLevel.Warning, "Node {NodeId}: Redis lost this node's directory entries; re-registered {Count} devices")]
    public static partial void DirectoryReasserted(ILogger logger, string nodeId, int count);

    [LoggerMessage(905, LogLevel.Warning, "Cache invalidation from another node failed")]
    public static partial void InvalidationFailed(ILogger logger, Exception exception);

    [LoggerMessage(906, LogLevel.Warning, "Node {NodeId}: Redis unavailable during {Operation}; serving local devices only until it is back")]
    public static partial void RedisUnavailable(ILogger logger, Exception exception, string nodeId, string operation);

    [LoggerMessage(907, LogLevel.Warning, "Seq counters of a failed commit could not be reset in Redis; those seqs stay unused (a gap sync reports)")]
    public static partial void SeqResyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(908, LogLevel.Information, "Client id {ClientId} connected on {NodeId} while connected on {OldNodeId}: told that node to close the old connection")]
    public static partial void ClientIdTakenOver(ILogger logger, string clientId, string oldNodeId, string nodeId);

    [LoggerMessage(909, LogLevel.Warning, "Cleaning up after dead node {DeadNodeId} failed in {Handler}")]
    public static partial void NodeCleanupFailed(ILogger logger, Exception exception, string deadNodeId, string handler);

    [LoggerMessage(910, LogLevel.Warning, "Per-user publish budgets are not enforced while Redis is unreachable (per-connection limits still are)")]
    public static partial void UserBudgetUnavailable(ILogger logger, Exception exception);
}
