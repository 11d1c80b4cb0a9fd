namespace MqttIm.ImExtensions.Messaging;

/// <summary>Conversation ids: <c>c2c:{a}:{b}</c> with the two user ids sorted ordinally (so both sides name it alike).</summary>
internal static class ConversationIds
{
    private const string C2cPrefix = "c2c:";

    public static string C2c(string userA, string userB) =>
        string.CompareOrdinal(userA, userB) <= 0 ? $"{C2cPrefix}{userA}:{userB}" : $"{C2cPrefix}{userB}:{userA}";

    /// <summary>The other user of a 1:1 conversation, or null when it is not one of the user's 1:1 conversations.</summary>
    public static string? PeerOf(string conversationId, string userId)
    {
        if (!IsParticipant(conversationId, userId))
        {
            return null;
        }

        var pair = conversationId[C2cPrefix.Length..];
        var colon = pair.IndexOf(':');
        var (a, b) = (pair[..colon], pair[(colon + 1)..]);
        return a == userId ? b : a;
    }

    public static string Notifications(string userId) => "notify:" + userId;

    /// <summary>Whether the user takes part in the conversation (user ids contain no ':').</summary>
    public static bool IsParticipant(string conversationId, string userId)
    {
        if (!conversationId.StartsWith(C2cPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var pair = conversationId.AsSpan(C2cPrefix.Length);
        var colon = pair.IndexOf(':');
        return colon > 0 && (pair[..colon].SequenceEqual(userId) || pair[(colon + 1)..].SequenceEqual(userId));
    }
}
