using MqttIm.Contracts.V1;
using MqttIm.PushBridge.Scheduling;

namespace MqttIm.PushBridge.Tokens;

/// <summary>What a device asks to register, before it is checked.</summary>
public sealed record PushRegistration(string Vendor, string AppId, string Token, string Environment, string Locale, bool Privacy, int Preference, string DeviceId);

/// <summary>The token registry as the RPC and HTTP endpoints use it: validation, then the store.</summary>
public sealed class PushTokenRegistry(IPushTokenStore store, TimeProvider time)
{
    public const int MaxTokenLength = 4096;

    /// <summary>Why the registration is refused, or null when it is fine.</summary>
    public string? Validate(PushRegistration registration)
    {
        if (!PushVendors.IsKnown(registration.Vendor))
        {
            return $"vendor must be {PushVendors.Apns}, {PushVendors.Fcm} or {PushVendors.Hms}";
        }

        if (registration.AppId.Length is 0 or > 200 || registration.Token.Length is 0 or > MaxTokenLength || registration.DeviceId.Length is 0 or > 200)
        {
            return $"app id (≤ 200 characters), token (≤ {MaxTokenLength}) and device id are required";
        }

        if (registration.Environment is not ("" or "sandbox" or "production"))
        {
            return "environment is sandbox or production";
        }

        return registration.Locale.Length > 35 ? "locale is a BCP 47 tag" : null;
    }

    public Task RegisterAsync(string userId, PushRegistration registration, CancellationToken cancellationToken) => store.RegisterAsync(
        new PushToken(userId, registration.DeviceId, registration.Vendor, registration.AppId, registration.Token,
            registration.Environment.Length > 0 ? registration.Environment : "production", registration.Locale, registration.Privacy, registration.Preference,
            time.GetUtcNow().ToUnixTimeMilliseconds()),
        cancellationToken);

    public Task<bool> UnregisterAsync(string userId, string vendor, string token, CancellationToken cancellationToken) => store.UnregisterAsync(userId, vendor, token, cancellationToken);

    public Task<int> UnregisterDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken) => store.UnregisterDeviceAsync(userId, deviceId, cancellationToken);

    public Task<IReadOnlyList<PushToken>> GetAsync(string userId, CancellationToken cancellationToken) => store.GetForUserAsync(userId, cancellationToken);

    /// <summary>Sets quiet hours ("22:00" to "07:00" in an IANA time zone); empty start and end clear them. Returns why it was refused, or null.</summary>
    public async Task<string?> SetQuietHoursAsync(string userId, string? start, string? end, string? timeZone, CancellationToken cancellationToken)
    {
        var zone = string.IsNullOrEmpty(timeZone) ? "UTC" : timeZone;
        if (!QuietHours.IsKnownZone(zone))
        {
            return $"unknown time zone '{zone}' (use an IANA id such as Asia/Shanghai)";
        }

        if (string.IsNullOrEmpty(start) && string.IsNullOrEmpty(end))
        {
            await store.SetPreferencesAsync(new PushPreferences(userId, -1, -1, zone), cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (!TimeOnly.TryParseExact(start, "HH:mm", out var from) || !TimeOnly.TryParseExact(end, "HH:mm", out var to))
        {
            return "quiet hours are HH:mm to HH:mm, e.g. 22:00 and 07:00";
        }

        await store.SetPreferencesAsync(new PushPreferences(userId, from.Hour * 60 + from.Minute, to.Hour * 60 + to.Minute, zone), cancellationToken).ConfigureAwait(false);
        return null;
    }

    public Task<PushPreferences?> GetPreferencesAsync(string userId, CancellationToken cancellationToken) => store.GetPreferencesAsync(userId, cancellationToken);

    internal async Task<PushTokensResult> DescribeAsync(string userId, int removed, CancellationToken cancellationToken)
    {
        var result = new PushTokensResult { Removed = removed };
        foreach (var token in await store.GetForUserAsync(userId, cancellationToken).ConfigureAwait(false))
        {
            result.Tokens.Add(new PushTokenInfo
            {
                Vendor = token.Vendor, AppId = token.AppId, TokenPrefix = token.Token[..Math.Min(8, token.Token.Length)], Environment = token.Environment,
                Locale = token.Locale, Privacy = token.Privacy, Preference = token.Preference, DeviceId = token.DeviceId,
            });
        }

        return result;
    }
}
