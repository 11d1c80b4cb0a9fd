using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MqttIm.PushBridge.Vendors.Apns;

/// <summary>
/// The APNs provider token: an ES256 JWT (<c>kid</c> = key id, <c>iss</c> = team id, <c>iat</c>) signed with the .p8 key,
/// reused until <see cref="ApnsAppOptions.TokenLifetime"/> (under Apple's one hour), or renewed at once after a 403
/// <c>ExpiredProviderToken</c>.
/// </summary>
internal sealed class ApnsProviderToken : IDisposable
{
    private readonly ECDsa _key;
    private readonly string _teamId;
    private readonly string _keyId;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private (string Jwt, DateTimeOffset IssuedAt)? _current;

    public ApnsProviderToken(string p8Pem, string teamId, string keyId, TimeSpan lifetime, TimeProvider time)
    {
        _key = ECDsa.Create();
        _key.ImportFromPem(p8Pem);
        _teamId = teamId;
        _keyId = keyId;
        _lifetime = lifetime;
        _time = time;
    }

    /// <summary>The token to send; <paramref name="renew"/> forces a new one (the previous was refused as expired).</summary>
    public string Get(bool renew = false)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (renew || _current is not { } current || now - current.IssuedAt >= _lifetime)
            {
                _current = (Sign(now), now);
            }

            return _current.Value.Jwt;
        }
    }

    private string Sign(DateTimeOffset now)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "ES256", kid = _keyId }));
        var claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { iss = _teamId, iat = now.ToUnixTimeSeconds() }));
        var signingInput = header + "." + claims;
        // JWS wants the raw r||s form, not DER.
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose() => _key.Dispose();
}
