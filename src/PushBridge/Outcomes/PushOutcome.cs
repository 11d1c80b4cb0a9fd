namespace MqttIm.PushBridge.Outcomes;

/// <summary>
/// What happened to one push job at one device token (or to the whole job: cancelled, no token). <see cref="Result"/> is one
/// of <see cref="PushResults"/>; <see cref="Detail"/> is the vendor's reason, never a credential.
/// </summary>
public sealed record PushOutcome(
    string JobId,
    string UserId,
    IReadOnlyList<string> MessageIds,
    string Vendor,
    string AppId,
    string Token,
    string Result,
    string Detail,
    int Attempts,
    long AtMs);

/// <summary>The outcome names, also the <c>result</c> label of <c>mqttim_push_outcomes_total</c>.</summary>
public static class PushResults
{
    public const string Delivered = "delivered";
    public const string TokenRemoved = "token_removed";
    public const string Failed = "failed";
    public const string CancelledOnline = "cancelled_online";
    public const string NoToken = "no_token";
    public const string NoChannel = "no_channel";
}
