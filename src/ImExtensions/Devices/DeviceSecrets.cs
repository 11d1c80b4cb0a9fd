using System.Security.Cryptography;
using System.Text;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Device secrets: generated random, shown once, stored only as <c>pbkdf2-sha256${iterations}${salt}${hash}</c>.
/// Secrets start with <c>ds_</c> and contain no '.', so a password is never mistaken for a JWT.
/// </summary>
public static class DeviceSecrets
{
    private const string Scheme = "pbkdf2-sha256";

    public static string Generate() => "ds_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hash(string secret, int iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>Whether <paramref name="secret"/> matches the stored hash (constant-time compare).</summary>
    public static bool Verify(string secret, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], out var iterations) || iterations < 1)
        {
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
