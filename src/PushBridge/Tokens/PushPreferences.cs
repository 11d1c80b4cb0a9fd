namespace MqttIm.PushBridge.Tokens;

/// <summary>
/// A user's push settings: quiet hours as minutes of the local day in <paramref name="TimeZone"/> (an IANA id; start may be
/// after end, e.g. 22:00–07:00 spans midnight; equal or negative = none).
/// </summary>
public sealed record PushPreferences(string UserId, int QuietStartMinute, int QuietEndMinute, string TimeZone)
{
    public bool HasQuietHours => QuietStartMinute >= 0 && QuietEndMinute >= 0 && QuietStartMinute != QuietEndMinute;

    public static PushPreferences None(string userId) => new(userId, -1, -1, "UTC");
}
