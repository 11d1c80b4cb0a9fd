using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace MqttIm.ImExtensions.Auth;

/// <summary>The keys tokens are checked and minted with, plus the admin API key; generated into the data directory on a first run.</summary>
/// <remarks>There is no built-in default secret on purpose: a default secret would be shared by every installation.</remarks>
public sealed class SigningKeys
{
    private SigningKeys(IReadOnlyList<SecurityKey> validationKeys, SigningCredentials mintingCredentials, string adminApiKey)
    {
        ValidationKeys = validationKeys;
        MintingCredentials = mintingCredentials;
        AdminApiKey = adminApiKey;
    }

    public IReadOnlyList<SecurityKey> ValidationKeys { get; }

    public SigningCredentials MintingCredentials { get; }

    public string AdminApiKey { get; }

    public static SigningKeys Load(AuthOptions options, string dataDirectory, ILogger logger)
    {
        var keyDirectory = Path.Combine(Path.GetFullPath(dataDirectory), "keys");
        var hmac = new SymmetricSecurityKey(ResolveHs256Secret(options, keyDirectory, logger)) { KeyId = "hs256" };
        var keys = new List<SecurityKey> { hmac };
        var minting = new SigningCredentials(hmac, SecurityAlgorithms.HmacSha256);

        if (options.Rs256PublicKeyPath.Length > 0)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(File.ReadAllText(options.Rs256PublicKeyPath));
            keys.Add(new RsaSecurityKey(rsa) { KeyId = "rs256" });
        }

        if (options.Rs256PrivateKeyPath.Length > 0)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(File.ReadAllText(options.Rs256PrivateKeyPath));
            minting = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "rs256" }, SecurityAlgorithms.RsaSha256);
        }

        var adminKey = options.AdminApiKey.Length > 0
            ? options.AdminApiKey
            : ReadOrCreate(Path.Combine(keyDirectory, "admin.key"), () => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant(), "admin API key", logger);
        return new SigningKeys(keys, minting, adminKey);
    }

    private static byte[] ResolveHs256Secret(AuthOptions options, string keyDirectory, ILogger logger)
    {
        var text = options.Hs256Secret.Length > 0
            ? options.Hs256Secret
            : ReadOrCreate(Path.Combine(keyDirectory, "jwt-hs256.key"), () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)), "HS256 token secret", logger);
        byte[] secret;
        try
        {
            secret = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            secret = Encoding.UTF8.GetBytes(text);
        }

        if (secret.Length < 32)
        {
            throw new InvalidOperationException("Auth:Hs256Secret must hold at least 32 bytes (base64 of 32 random bytes or more).");
        }

        return secret;
    }

    private static string ReadOrCreate(string path, Func<string> generate, string what, ILogger logger)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var value = generate();
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Owner-only from the first byte.
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, fileOptions))
        {
            stream.Write(Encoding.UTF8.GetBytes(value));
        }

        logger.LogWarning("Generated a new {What} at {Path}; keep it secret, and configure it explicitly for a cluster", what, path);
        return value;
    }
}
