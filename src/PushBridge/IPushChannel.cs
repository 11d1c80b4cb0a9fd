namespace MqttIm.PushBridge;

/// <summary>One vendor push channel (APNs, FCM, HMS …). Implementations arrive with the push-bridge issue; nothing uses this yet.</summary>
public interface IPushChannel
{
    /// <summary>The vendor this channel speaks to, e.g. "apns".</summary>
    string Vendor { get; }

    /// <summary>Sends one notification to one device token.</summary>
    Task<PushResult> SendAsync(PushRequest request, CancellationToken cancellationToken);
}

/// <summary>A notification for one device token.</summary>
public sealed record PushRequest(string DeviceToken, string Title, string Body, IReadOnlyDictionary<string, string> Data);

/// <summary>What the vendor answered; <see cref="TokenGone"/> means the token must be deleted.</summary>
public sealed record PushResult(bool Delivered, bool TokenGone, string? Error);
