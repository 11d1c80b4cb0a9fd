namespace MqttIm.PushBridge.Vendors;

/// <summary>
/// One vendor app (an APNs bundle, a Firebase project, an HMS app). Sends one notification to tokens of that app in one
/// attempt and classifies each answer; retrying, failover and token removal are the caller's (<c>PushSender</c>).
/// An expired OAuth/JWT credential is refreshed inside the channel and the request resent once.
/// </summary>
public interface IPushChannel
{
    string Vendor { get; }

    string AppId { get; }

    /// <summary>One reply per token, in the order given.</summary>
    Task<IReadOnlyList<VendorReply>> SendAsync(PushNotification notification, IReadOnlyList<VendorTarget> targets, CancellationToken cancellationToken);
}

/// <summary>A device token and its APNs environment.</summary>
public sealed record VendorTarget(string Token, string Environment);

/// <summary>What a phone is asked to show. <see cref="Priority"/> 0 is P0 (APNs priority 10, Android HIGH).</summary>
public sealed record PushNotification(
    string Title,
    string Body,
    int Badge,
    string CollapseId,
    int Priority,
    DateTimeOffset Expiration,
    IReadOnlyDictionary<string, string> Data);

public enum VendorReplyKind
{
    Delivered,

    /// <summary>The vendor says the token is dead (uninstalled, invalid): remove it, never retry.</summary>
    TokenGone,

    /// <summary>429 / 5xx / flow control: try again later, after <see cref="VendorReply.RetryAfter"/> when given.</summary>
    Retryable,

    /// <summary>Refused for another reason (bad request, auth that refreshing did not fix): not retried, the token kept.</summary>
    Rejected,
}

public sealed record VendorReply(VendorReplyKind Kind, string Detail, TimeSpan? RetryAfter = null)
{
    public static readonly VendorReply Ok = new(VendorReplyKind.Delivered, "");
}
