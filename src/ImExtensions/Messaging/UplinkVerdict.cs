namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// How an uplink PUBLISH is answered, decided by its handler and written into the PUBACK by Hooks (UplinkAnswer), so the
/// handlers stay free of MQTTnet's types. Whatever else the answer needs (the inbox <c>SendError</c>, the duplicate's
/// send-ack) the handler has done before it returns the verdict.
/// </summary>
/// <param name="Outcome">For <see cref="UplinkVerdictKind.Stored"/>: the stored message (or the original of a resend).</param>
/// <param name="ClientMsgId">For <see cref="UplinkVerdictKind.Received"/>: the send's client message id.</param>
/// <param name="Rejection">For <see cref="UplinkVerdictKind.Rejected"/>.</param>
/// <param name="Seq">For <see cref="UplinkVerdictKind.Accepted"/>: a seq to report (0: none).</param>
/// <param name="Properties">For <see cref="UplinkVerdictKind.Accepted"/>: what else the MQTT 5 PUBACK reports (a command's id and state).</param>
internal readonly record struct UplinkVerdict(
    UplinkVerdictKind Kind, SendOutcome Outcome = default, string ClientMsgId = "", UplinkRejection Rejection = default, long Seq = 0,
    IReadOnlyList<KeyValuePair<string, string>>? Properties = null)
{
    /// <summary>A chat send is durable: the MQTT 5 PUBACK carries its conversation, seq, server id and time.</summary>
    public static UplinkVerdict Stored(in SendOutcome outcome) => new(UplinkVerdictKind.Stored, Outcome: outcome);

    /// <summary>Early-ack mode: queued, not stored yet (<c>ack=received</c>).</summary>
    public static UplinkVerdict Received(string clientMsgId) => new(UplinkVerdictKind.Received, ClientMsgId: clientMsgId);

    /// <summary>Taken (a room send, a device's uplink); <paramref name="seq"/> when it has one.</summary>
    public static UplinkVerdict Accepted(long seq = 0) => new(UplinkVerdictKind.Accepted, Seq: seq);

    /// <summary>Taken, with the MQTT 5 PUBACK naming what it made (an issued command's id, seq and state).</summary>
    public static UplinkVerdict Accepted(IReadOnlyList<KeyValuePair<string, string>> properties) => new(UplinkVerdictKind.Accepted, Properties: properties);

    public static UplinkVerdict Rejected(in UplinkRejection rejection) => new(UplinkVerdictKind.Rejected, Rejection: rejection);
}

internal enum UplinkVerdictKind
{
    Stored,
    Received,
    Accepted,
    Rejected,
}
