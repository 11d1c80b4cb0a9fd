using System.ComponentModel.DataAnnotations;

namespace MqttIm.PushBridge;

/// <summary>Configuration section <c>Push</c>: the scheduling policy and the vendor apps (several per vendor).</summary>
public sealed class PushOptions
{
    public const string SectionName = "Push";

    /// <summary>Off: offline recipients produce no push jobs (tokens can still be registered).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long P1–P3 messages for one user are collected into one notification ("3 new messages from Alice").</summary>
    public TimeSpan MergeWindow { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Per device token: at most this many non-P0 pushes per <see cref="RateLimitWindow"/>; more wait (and keep merging). 0 = no limit.</summary>
    [Range(0, 10_000)]
    public int RateLimitPerDevice { get; set; } = 10;

    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Retries of a 429/5xx answer (after the first attempt), exponential from <see cref="RetryBaseDelay"/> unless the vendor sends Retry-After.</summary>
    [Range(0, 20)]
    public int MaxRetries { get; set; } = 4;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest Retry-After honoured; longer answers count as a failure of this attempt round.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the vendor should keep trying to deliver a non-P0 notification (apns-expiration, FCM/HMS ttl).</summary>
    public TimeSpan NotificationTimeToLive { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Members in a group above which only mentioned members (ext <c>mentions</c>) get pushes.</summary>
    [Range(1, 1_000_000)]
    public int LargeGroupMembers { get; set; } = 500;

    /// <summary>
    /// For tests and private deployments: a PEM or DER certificate file whose certificate vendor servers may present even
    /// though no trusted root signed it. Empty (the default) = only the system trust store.
    /// </summary>
    public string TrustedCertificatePath { get; set; } = "";

    public List<ApnsAppOptions> Apns { get; set; } = [];

    public List<FcmAppOptions> Fcm { get; set; } = [];

    public List<HmsAppOptions> Hms { get; set; } = [];
}

/// <summary>One APNs app: tokens registered with <c>appId</c> = <see cref="BundleId"/> go here (token-based auth, a .p8 key).</summary>
public sealed class ApnsAppOptions
{
    [Required]
    public string BundleId { get; set; } = "";

    [Required]
    public string TeamId { get; set; } = "";

    [Required]
    public string KeyId { get; set; } = "";

    /// <summary>The .p8 (PKCS#8 PEM) signing key file; or <see cref="KeyEnvironmentVariable"/> names a variable holding the PEM.</summary>
    public string KeyPath { get; set; } = "";

    public string KeyEnvironmentVariable { get; set; } = "";

    public string BaseUrl { get; set; } = "https://api.push.apple.com";

    public string SandboxBaseUrl { get; set; } = "https://api.sandbox.push.apple.com";

    /// <summary>How long one provider token is used; Apple refuses tokens older than an hour and asks not to refresh more often than every 20 minutes.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(50);

    /// <summary>HTTP/2 connections per environment; each multiplexes many streams.</summary>
    [Range(1, 64)]
    public int Connections { get; set; } = 1;
}

/// <summary>One Firebase project: tokens registered with <c>appId</c> = <see cref="AppId"/> go here (HTTP v1 API, service account).</summary>
public sealed class FcmAppOptions
{
    [Required]
    public string AppId { get; set; } = "";

    /// <summary>The Firebase project id; empty = the service account's <c>project_id</c>.</summary>
    public string ProjectId { get; set; } = "";

    /// <summary>The service account JSON key file; or <see cref="ServiceAccountEnvironmentVariable"/> names a variable holding the JSON.</summary>
    public string ServiceAccountPath { get; set; } = "";

    public string ServiceAccountEnvironmentVariable { get; set; } = "";

    public string BaseUrl { get; set; } = "https://fcm.googleapis.com";
}

/// <summary>One Huawei Push Kit app: tokens registered with <c>appId</c> = <see cref="AppId"/> go here (OAuth2 client credentials).</summary>
public sealed class HmsAppOptions
{
    [Required]
    public string AppId { get; set; } = "";

    /// <summary>The OAuth client id; empty = <see cref="AppId"/>.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>A file holding the client secret; or <see cref="ClientSecretEnvironmentVariable"/> names a variable holding it.</summary>
    public string ClientSecretPath { get; set; } = "";

    public string ClientSecretEnvironmentVariable { get; set; } = "";

    public string TokenUrl { get; set; } = "https://oauth-login.cloud.huawei.com/oauth2/v3/token";

    public string BaseUrl { get; set; } = "https://push-api.cloud.huawei.com";
}
