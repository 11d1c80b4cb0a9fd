using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Auth;

/// <summary>Configuration section <c>Auth</c>: how chat users' access tokens are signed and checked.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>HS256 secret, base64 (at least 32 bytes). Empty: use or generate <c>{DataDirectory}/keys/jwt-hs256.key</c>.</summary>
    public string Hs256Secret { get; set; } = "";

    /// <summary>PEM file with an RSA public key; when set, RS256 tokens signed by its private key are accepted too.</summary>
    public string Rs256PublicKeyPath { get; set; } = "";

    /// <summary>PEM file with the RSA private key; when set, minted tokens are RS256 instead of HS256.</summary>
    public string Rs256PrivateKeyPath { get; set; } = "";

    /// <summary>The <c>iss</c> claim written into minted tokens and required of presented ones.</summary>
    public string Issuer { get; set; } = "mqttim";

    /// <summary>Lifetime of a minted token when the caller does not choose one.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan DefaultTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Longest lifetime a minted token may have (<c>--ttl</c> of the CLI, <c>ttlSeconds</c> of the admin API); longer
    /// requests are refused. <see cref="DefaultTokenLifetime"/> must not exceed it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long past its token's <c>exp</c> a connection is still accepted and kept (clock skew between the token issuer
    /// and the broker); then it is disconnected.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether clients may connect without a user name and password (like Mosquitto's <c>allow_anonymous</c>); they then
    /// get plain topics only, within <see cref="Anonymous"/>. Off by default.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>What anonymous clients may publish and subscribe (<c>Auth:Anonymous:Publish</c> / <c>:Subscribe</c>).</summary>
    public AnonymousOptions Anonymous { get; set; } = new();

    /// <summary>Key for the admin HTTP API (header <c>X-Admin-Key</c>). Empty: use or generate <c>{DataDirectory}/keys/admin.key</c>.</summary>
    public string AdminApiKey { get; set; } = "";
}
