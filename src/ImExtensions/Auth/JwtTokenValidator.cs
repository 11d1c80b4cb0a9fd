using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace MqttIm.ImExtensions.Auth;

/// <summary>Checks a presented access token: signature (HS256 or RS256), issuer, lifetime, and that <c>sub</c> is the MQTT username.</summary>
internal sealed class JwtTokenValidator
{
    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters _parameters;

    public JwtTokenValidator(SigningKeys keys, AuthOptions options)
    {
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = options.Issuer,
            ValidateIssuer = true,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = options.ExpiryGrace, // the same grace the connection keeps past exp (TokenExpiryEnforcer)
            IssuerSigningKeys = keys.ValidationKeys,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256],
        };
    }

    /// <summary>Null when the token is good for <paramref name="userId"/>, otherwise the reason for the log.</summary>
    public async Task<string?> ValidateAsync(string userId, string token) => (await CheckAsync(userId, token).ConfigureAwait(false)).Problem;

    /// <summary>The problem (null when the token is good for <paramref name="userId"/>) and, when good, when the token expires.</summary>
    public async Task<(string? Problem, DateTimeOffset ExpiresAt)> CheckAsync(string userId, string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return ("no token in the password field", default);
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (result.Exception?.GetType().Name switch
            {
                nameof(SecurityTokenExpiredException) => "token expired",
                nameof(SecurityTokenInvalidSignatureException) or nameof(SecurityTokenSignatureKeyNotFoundException) => "token signature invalid",
                nameof(SecurityTokenMalformedException) => "token malformed",
                _ => "token rejected: " + (result.Exception?.Message ?? "unknown"),
            }, default);
        }

        var subject = result.Claims.TryGetValue(JwtRegisteredClaimNames.Sub, out var sub) ? sub as string : null;
        return subject == userId
            ? (null, new DateTimeOffset(result.SecurityToken.ValidTo, TimeSpan.Zero))
            : ("token subject does not match the username", default);
    }
}
