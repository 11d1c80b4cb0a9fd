namespace MqttIm.DeviceSdk;

/// <summary>The broker answered a sync or history request with an error.</summary>
public sealed class MqttImRpcException : Exception
{
    /// <summary>Creates the exception for a failed call of an RPC method.</summary>
    public MqttImRpcException(string method, string code, string? reason)
        : base($"rpc {method} failed: {code}{(string.IsNullOrEmpty(reason) ? "" : ": " + reason)}")
    {
        Method = method;
        Code = code;
    }

    /// <summary>The RPC method, "sync" or "history".</summary>
    public string Method { get; }

    /// <summary>The stable error code, e.g. "invalid_request", "not_authorized", "internal".</summary>
    public string Code { get; }
}
