using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace MqttIm.ImExtensions.Auth;

/// <summary>Mints access tokens: <c>sub</c> = user id, <c>exp</c>, <c>iss</c>.</summary>
public sealed class JwtTokenIssuer(SigningKeys keys, AuthOptions options)
{
    private readonly JsonWebTokenHandler _handler = new();

    public IssuedToken Issue(string userId, TimeSpan? lifetime = null, IDictionary<string, object>? claims = null)
    {
        if (!UserIds.IsValid(userId))
        {
            throw new ArgumentException(UserIds.Rule, nameof(userId));
        }

        if (lifetime > options.MaxTokenLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), $"a token lives at most {options.MaxTokenLifetime} (Auth:MaxTokenLifetime)");
        }

        var now = DateTime.UtcNow;
        var expires = now + (lifetime ?? options.DefaultTokenLifetime);
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, userId)]),
            Issuer = options.Issuer,
            IssuedAt = now,
            NotBefore = now,
            Expires = expires,
            SigningCredentials = keys.MintingCredentials,
            Claims = claims, // extra claims, e.g. the live rooms a token may view
        });
        return new IssuedToken(userId, token, new DateTimeOffset(expires, TimeSpan.Zero));
    }
}

/// <summary>A minted token and when it stops working.</summary>
public sealed record IssuedToken(string UserId, string Token, DateTimeOffset ExpiresAt);
