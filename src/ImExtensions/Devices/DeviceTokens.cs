using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using MqttIm.ImExtensions.Auth;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Device JWTs: signed with the broker's keys like user tokens, <c>sub</c> = device id, claim <c>kind</c> = <c>device</c>.</summary>
internal sealed class DeviceTokens(SigningKeys keys, AuthOptions auth)
{
    public const string KindClaim = "kind";
    public const string DeviceKind = "device";

    private readonly JsonWebTokenHandler _handler = new();

    private readonly TokenValidationParameters _parameters = new()
    {
        ValidIssuer = auth.Issuer,
        ValidateAudience = false,
        ValidateLifetime = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ClockSkew = TimeSpan.FromSeconds(30),
        IssuerSigningKeys = keys.ValidationKeys,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256],
    };

    public IssuedToken Issue(string deviceId, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, deviceId), new Claim(KindClaim, DeviceKind)]),
            Issuer = auth.Issuer,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = keys.MintingCredentials,
        });
        return new IssuedToken(deviceId, token, new DateTimeOffset(now + lifetime, TimeSpan.Zero));
    }

    /// <summary>Whether the password is a JWT that claims to be a device token (not yet validated).</summary>
    public static bool LooksLikeDeviceToken(string password)
    {
        if (password.Count(c => c == '.') != 2)
        {
            return false;
        }

        try
        {
            return new JsonWebToken(password).TryGetPayloadValue<string>(KindClaim, out var kind) && kind == DeviceKind;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Null when the token is a valid device token for <paramref name="deviceId"/>, otherwise the reason.</summary>
    public async Task<string?> ValidateAsync(string deviceId, string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return "device token rejected: " + (result.Exception?.GetType().Name ?? "invalid");
        }

        return result.Claims.TryGetValue(JwtRegisteredClaimNames.Sub, out var sub) && sub as string == deviceId
            && result.Claims.TryGetValue(KindClaim, out var kind) && kind as string == DeviceKind
            ? null
            : "device token subject does not match the username";
    }
}
