namespace MqttIm.Testing;

/// <summary>Names for test users that never collide between tests sharing one broker.</summary>
public static class TestUsers
{
    /// <summary>The prefix plus random characters, 20 characters at most (a valid user id).</summary>
    public static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..Math.Min(20, prefix.Length + 32)];

    /// <summary>The 1:1 conversation id of two users, as the broker forms it.</summary>
    public static string C2c(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? $"c2c:{a}:{b}" : $"c2c:{b}:{a}";
}
