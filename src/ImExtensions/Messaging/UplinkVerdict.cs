namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// How an uplink PUBLISH is answered, decided by its handler and written into the PUBACK by Hooks (UplinkAnswer), so the
/// handlers stay free of MQTTnet's types. Whatever else the answer needs (the inbox <c>SendError</c>, the duplicate's
/// send-ack) the handler has done before it returns the verdict.
/// </summary>
internal readonly struct UplinkVerdict
{
    private UplinkVerdict(UplinkVerdictKind kind, SendOutcome outcome, string clientMsgId, UplinkRejection rejection, long seq)
    {
        Kind = kind;
        Outcome = outcome;
        ClientMsgId = clientMsgId;
        Rejection = rejection;
        Seq = seq;
    }

    public UplinkVerdictKind Kind { get; }

    /// <summary>For <see cref="UplinkVerdictKind.Stored"/>: the stored message (or the original of a resend).</summary>
    public SendOutcome Outcome { get; }

    /// <summary>For <see cref="UplinkVerdictKind.Received"/>: the send's client message id.</summary>
    public string ClientMsgId { get; }

    /// <summary>For <see cref="UplinkVerdictKind.Rejected"/>.</summary>
    public UplinkRejection Rejection { get; }

    /// <summary>For <see cref="UplinkVerdictKind.Accepted"/>: a seq to report (0: none).</summary>
    public long Seq { get; }

    /// <summary>A chat send is durable: the MQTT 5 PUBACK carries its conversation, seq, server id and time.</summary>
    public static UplinkVerdict Stored(in SendOutcome outcome) => new(UplinkVerdictKind.Stored, outcome, "", default, 0);

    /// <summary>Early-ack mode: queued, not stored yet (<c>ack=received</c>).</summary>
    public static UplinkVerdict Received(string clientMsgId) => new(UplinkVerdictKind.Received, default, clientMsgId, default, 0);

    /// <summary>Taken (a room send); <paramref name="seq"/> when it has one.</summary>
    public static UplinkVerdict Accepted(long seq = 0) => new(UplinkVerdictKind.Accepted, default, "", default, seq);

    public static UplinkVerdict Rejected(in UplinkRejection rejection) => new(UplinkVerdictKind.Rejected, default, "", rejection, 0);
}

internal enum UplinkVerdictKind
{
    Stored,
    Received,
    Accepted,
    Rejected,
}
