using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Registering, disabling, rotating and deleting devices; the one place that creates secrets.</summary>
internal sealed class DeviceRegistry(IDeviceStore store, DeviceKicker kicker, DevicePresence presence, IOptions<IotOptions> options, TimeProvider clock, ILogger<DeviceRegistry> logger)
{
    public const string GroupPrefix = "group:";
    public const string OwnerRule = "an owner is a user id, or group:{groupId} for every member of that group";

    public static bool IsValidOwner(string owner) =>
        owner.StartsWith(GroupPrefix, StringComparison.Ordinal) ? UserIds.IsValid(owner[GroupPrefix.Length..]) : UserIds.IsValid(owner);

    /// <summary>
    /// The new device and its secret (shown once), or null when the id is taken. A token-only device has no secret
    /// (it authenticates with device tokens only) and a null secret.
    /// </summary>
    public async Task<(DeviceRecord Device, string? Secret)?> RegisterAsync(string deviceId, IReadOnlyList<string> owners, bool tokenOnly, CancellationToken cancellationToken)
    {
        var secret = tokenOnly ? null : DeviceSecrets.Generate();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var device = new DeviceRecord(deviceId, secret is null ? "" : DeviceSecrets.Hash(secret, options.Value.SecretHashIterations), false, owners, now, now);
        if (!await store.CreateAsync(device, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        presence.Registered(deviceId);
        DeviceLog.Registered(logger, deviceId);
        return (device, secret);
    }

    public Task<DeviceRecord?> GetAsync(string deviceId, CancellationToken cancellationToken) => store.GetAsync(deviceId, cancellationToken);

    public Task<IReadOnlyList<DeviceRecord>> ListAsync(IReadOnlyCollection<string>? principals, string afterId, int limit, CancellationToken cancellationToken) =>
        store.ListAsync(principals, afterId, limit, cancellationToken);

    /// <summary>A new secret (the old one stops working at once), or null when the device does not exist.</summary>
    public async Task<string?> RotateSecretAsync(string deviceId, CancellationToken cancellationToken)
    {
        var device = await store.GetAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return null;
        }

        var secret = DeviceSecrets.Generate();
        var rotated = device with { SecretHash = DeviceSecrets.Hash(secret, options.Value.SecretHashIterations), SecretChangedMs = clock.GetUtcNow().ToUnixTimeMilliseconds() };
        if (!await store.UpdateAsync(rotated, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        DeviceLog.Changed(logger, deviceId, "secret rotated");
        await kicker.KickEverywhereAsync(deviceId, "the device secret was rotated").ConfigureAwait(false);
        return secret;
    }

    public async Task<DeviceRecord?> SetDisabledAsync(string deviceId, bool disabled, CancellationToken cancellationToken)
    {
        var device = await store.GetAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null || !await store.UpdateAsync(device with { Disabled = disabled }, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        DeviceLog.Changed(logger, deviceId, disabled ? "disabled" : "enabled");
        if (disabled)
        {
            await kicker.KickEverywhereAsync(deviceId, "the device was disabled").ConfigureAwait(false);
        }

        return device with { Disabled = disabled };
    }

    public async Task<DeviceRecord?> SetOwnersAsync(string deviceId, IReadOnlyList<string> owners, CancellationToken cancellationToken)
    {
        var device = await store.GetAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null || !await store.UpdateAsync(device with { Owners = owners }, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        DeviceLog.Changed(logger, deviceId, "owners set to " + string.Join(',', owners));
        return device with { Owners = owners };
    }

    public async Task<bool> DeleteAsync(string deviceId, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            DeviceLog.Changed(logger, deviceId, "deleted");
            await kicker.KickAsync(deviceId, "the device was deleted").ConfigureAwait(false);
            await presence.DeletedAsync(deviceId).ConfigureAwait(false); // every node forgets it (and closes its connection there)
        }

        return deleted;
    }
}
