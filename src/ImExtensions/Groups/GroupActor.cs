namespace MqttIm.ImExtensions.Groups;

/// <summary>Who asks for a group change: a member over <c>im/rpc/group/…</c>, or an operator over the admin API (all rights).</summary>
internal sealed record GroupActor(string UserId, string ClientId, bool IsOperator)
{
    public static GroupActor Operator(string actingAs) => new(actingAs, "", true);
}

/// <summary>A refused group change: <see cref="Code"/> is the stable RPC error code.</summary>
internal sealed class GroupOperationException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;

    public static GroupOperationException NotFound(string groupId) => new("not_found", $"no group '{groupId}'");

    public static GroupOperationException Forbidden(string message) => new("not_authorized", message);

    public static GroupOperationException Invalid(string message) => new("invalid_request", message);
}
