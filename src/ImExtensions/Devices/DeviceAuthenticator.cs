using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// CONNECT of an IoT device. A connection is a device's when its password is not a JWT (a device secret, <c>ds_…</c>) or
/// is a device token (claim <c>kind=device</c>); user access tokens go on to the user path untouched. The username is the
/// device id; the client id must be the device id too (or empty: then it is assigned).
/// </summary>
internal sealed class DeviceAuthenticator(
    IDeviceStore devices,
    DeviceTokens tokens,
    ClientIdOwnership ownership,
    IotConnections connections,
    ILogger<DeviceAuthenticator> logger)
{
    // device id → (stored hash, SHA-256 of the secret last verified against it): reconnects skip the slow KDF; a rotation changes the hash.
    private readonly ConcurrentDictionary<string, (string Hash, byte[] Digest)> _verified = new(StringComparer.Ordinal);

    public static bool IsDeviceConnect(string? password) =>
        !string.IsNullOrEmpty(password) && (password.Count(c => c == '.') != 2 || DeviceTokens.LooksLikeDeviceToken(password));

    /// <summary>Authenticates the device; <see cref="DeviceConnectOutcome.NotADevice"/> for users (their path decides).</summary>
    public async Task<DeviceConnectVerdict> TryValidateAsync(string? clientId, string? userName, string? password, string? remoteEndPoint)
    {
        if (!IsDeviceConnect(password))
        {
            if (!string.IsNullOrEmpty(clientId))
            {
                connections.MarkUser(clientId);
            }

            return new(DeviceConnectOutcome.NotADevice);
        }

        var deviceId = userName ?? "";
        if (!UserIds.IsValid(deviceId))
        {
            return Refuse(DeviceConnectOutcome.BadCredentials, "username must be the device id: " + UserIds.Rule, deviceId, remoteEndPoint);
        }

        var device = await devices.GetAsync(deviceId, CancellationToken.None).ConfigureAwait(false);
        var problem = device switch
        {
            null => "unknown device or wrong secret",
            { Disabled: true } => "device is disabled",
            _ when DeviceTokens.LooksLikeDeviceToken(password!) => await tokens.ValidateAsync(deviceId, password!).ConfigureAwait(false),
            _ => VerifySecret(device, password!) ? null : "unknown device or wrong secret",
        };
        if (problem is not null)
        {
            return Refuse(device is { Disabled: true } ? DeviceConnectOutcome.Disabled : DeviceConnectOutcome.BadCredentials, problem, deviceId, remoteEndPoint);
        }

        var effectiveClientId = string.IsNullOrEmpty(clientId) ? deviceId : clientId;
        if (effectiveClientId != deviceId)
        {
            return Refuse(DeviceConnectOutcome.ClientIdNotValid, "a device's client id must be its device id", deviceId, remoteEndPoint);
        }

        if (!await ownership.TryClaimAsync(effectiveClientId, "device:" + deviceId, CancellationToken.None).ConfigureAwait(false))
        {
            return Refuse(DeviceConnectOutcome.ClientIdNotValid, "client id is in use by a user's session", deviceId, remoteEndPoint);
        }

        connections.MarkDevice(effectiveClientId, deviceId, device!.SecretHash);
        return new(DeviceConnectOutcome.Accepted, AssignedClientId: string.IsNullOrEmpty(clientId) ? effectiveClientId : null);
    }

    private bool VerifySecret(DeviceRecord device, string secret)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        if (_verified.TryGetValue(device.DeviceId, out var known) && known.Hash == device.SecretHash && CryptographicOperations.FixedTimeEquals(known.Digest, digest))
        {
            return true;
        }

        if (!DeviceSecrets.Verify(secret, device.SecretHash))
        {
            return false;
        }

        _verified[device.DeviceId] = (device.SecretHash, digest);
        return true;
    }

    private DeviceConnectVerdict Refuse(DeviceConnectOutcome outcome, string reason, string deviceId, string? remoteEndPoint)
    {
        DeviceLog.ConnectRefused(logger, deviceId, remoteEndPoint, reason);
        return new(outcome, reason);
    }
}

/// <summary>What the device registry decided about a CONNECT; Hooks writes it into the CONNACK.</summary>
/// <param name="Reason">For a refusal: why (the MQTT 5 reason string).</param>
/// <param name="AssignedClientId">Accepted without a client id: the device id, assigned as its client id.</param>
internal readonly record struct DeviceConnectVerdict(DeviceConnectOutcome Outcome, string? Reason = null, string? AssignedClientId = null);

internal enum DeviceConnectOutcome
{
    /// <summary>A user's CONNECT (an access token as password): not the device registry's to decide.</summary>
    NotADevice,

    Accepted,

    /// <summary>Unknown device, wrong secret or token, or a username that is no device id (0x86 Bad user name or password).</summary>
    BadCredentials,

    /// <summary>The device is disabled (0x87 Not authorized).</summary>
    Disabled,

    /// <summary>The client id is not the device id, or is a user's (0x85 Client identifier not valid).</summary>
    ClientIdNotValid,
}
