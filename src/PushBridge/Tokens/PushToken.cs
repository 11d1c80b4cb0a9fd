namespace MqttIm.PushBridge.Tokens;

/// <summary>
/// One registered vendor token of one device. <paramref name="Environment"/> is APNs' <c>sandbox</c> or <c>production</c>
/// (other vendors: <c>production</c>); <paramref name="Privacy"/> asks for notifications without sender or content.
/// <paramref name="Preference"/> orders a device's tokens: the lowest is tried first, the next one on failure (failover).
/// </summary>
public sealed record PushToken(
    string UserId,
    string DeviceId,
    string Vendor,
    string AppId,
    string Token,
    string Environment,
    string Locale,
    bool Privacy,
    int Preference,
    long UpdatedMs);

/// <summary>The vendor names a token may carry.</summary>
public static class PushVendors
{
    public const string Apns = "apns";
    public const string Fcm = "fcm";
    public const string Hms = "hms";

    public static bool IsKnown(string vendor) => vendor is Apns or Fcm or Hms;
}
