namespace MqttIm.DeviceSdk;

/// <summary>The broker answered an RPC (sync, history, read, recall, edit, group/…) with an error.</summary>
public sealed class MqttImRpcException : Exception
{
    /// <summary>Creates the exception for a failed call of an RPC method.</summary>
    public MqttImRpcException(string method, string code, string? reason)
        : base($"rpc {method} failed: {code}{(string.IsNullOrEmpty(reason) ? "" : ": " + reason)}")
    {
        Method = method;
        Code = code;
    }

    /// <summary>The RPC method, e.g. "sync", "history", "recall" or "group/add_members".</summary>
    public string Method { get; }

    /// <summary>The stable error code, e.g. "invalid_request", "not_authorized", "not_found", "window_expired", "internal".</summary>
    public string Code { get; }
}
