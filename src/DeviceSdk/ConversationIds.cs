namespace MqttIm.DeviceSdk;

/// <summary>Builds conversation ids the way the broker does.</summary>
public static class ConversationIds
{
    /// <summary>The 1:1 conversation id <c>c2c:{a}:{b}</c> of two users, ids sorted ordinally.</summary>
    public static string C2c(string userA, string userB) =>
        string.CompareOrdinal(userA, userB) <= 0 ? $"c2c:{userA}:{userB}" : $"c2c:{userB}:{userA}";
}
