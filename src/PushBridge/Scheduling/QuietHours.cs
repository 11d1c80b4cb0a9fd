using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Scheduling;

/// <summary>Moves a due time out of the user's quiet hours (in their time zone) to the moment they end.</summary>
internal static class QuietHours
{
    public static DateTimeOffset Postpone(DateTimeOffset due, PushPreferences? preferences)
    {
        if (preferences is not { HasQuietHours: true })
        {
            return due;
        }

        var zone = FindZone(preferences.TimeZone);
        var local = TimeZoneInfo.ConvertTime(due, zone);
        var minute = local.Hour * 60 + local.Minute;
        int start = preferences.QuietStartMinute, end = preferences.QuietEndMinute;
        var inside = start < end ? minute >= start && minute < end : minute >= start || minute < end;
        if (!inside)
        {
            return due;
        }

        // The end is today, or tomorrow when the quiet period spans midnight and we are before it.
        var endDate = local.Date.AddMinutes(end);
        if (start > end && minute >= start)
        {
            endDate = endDate.AddDays(1);
        }

        var endLocal = new DateTimeOffset(endDate, zone.GetUtcOffset(endDate));
        return endLocal > due ? endLocal : due;
    }

    public static TimeZoneInfo FindZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    public static bool IsKnownZone(string id)
    {
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }
}
