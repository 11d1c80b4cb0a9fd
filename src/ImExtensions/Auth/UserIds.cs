namespace MqttIm.ImExtensions.Auth;

/// <summary>What a user id may look like: it becomes a topic level and part of conversation ids.</summary>
public static class UserIds
{
    public const int MaxLength = 64;

    public const string Rule = "a user id is 1-64 characters of letters, digits, '-', '_' and '.'";

    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
