namespace MqttIm.DeviceSdk;

/// <summary>Builds conversation ids the way the broker does.</summary>
public static class ConversationIds
{
    /// <summary>The 1:1 conversation id <c>c2c:{a}:{b}</c> of two users, ids sorted ordinally.</summary>
    public static string C2c(string userA, string userB) =>
        string.CompareOrdinal(userA, userB) <= 0 ? $"c2c:{userA}:{userB}" : $"c2c:{userB}:{userA}";

    /// <summary>The conversation id <c>group:{groupId}</c> of a group.</summary>
    public static string Group(string groupId) => $"group:{groupId}";

    /// <summary>The conversation id <c>notify:{userId}</c> in which a user receives business notifications.</summary>
    public static string Notifications(string userId) => $"notify:{userId}";

    /// <summary>Only group conversations can begin for a user after seq 1 (members added later read from their join).</summary>
    internal static bool MayStartAfterFirstSeq(string conversationId) => conversationId.StartsWith("group:", StringComparison.Ordinal);
}
