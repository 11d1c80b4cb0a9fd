using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
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

    public static bool IsDeviceConnect(ValidatingConnectionEventArgs args)
    {
        var password = args.Password ?? "";
        return password.Length > 0 && (password.Count(c => c == '.') != 2 || DeviceTokens.LooksLikeDeviceToken(password));
    }

    /// <summary>Authenticates the device; true when this CONNECT was a device's (whatever the outcome), false for users.</summary>
    public async Task<bool> TryValidateAsync(ValidatingConnectionEventArgs args)
    {
        if (!IsDeviceConnect(args))
        {
            if (!string.IsNullOrEmpty(args.ClientId))
            {
                connections.MarkUser(args.ClientId);
            }

            return false;
        }

        var deviceId = args.UserName ?? "";
        if (!UserIds.IsValid(deviceId))
        {
            Refuse(args, MqttConnectReasonCode.BadUserNameOrPassword, "username must be the device id: " + UserIds.Rule);
            return true;
        }

        var device = await devices.GetAsync(deviceId, CancellationToken.None).ConfigureAwait(false);
        var problem = device switch
        {
            null => "unknown device or wrong secret",
            { Disabled: true } => "device is disabled",
            _ when DeviceTokens.LooksLikeDeviceToken(args.Password!) => await tokens.ValidateAsync(deviceId, args.Password!).ConfigureAwait(false),
            _ => VerifySecret(device, args.Password!) ? null : "unknown device or wrong secret",
        };
        if (problem is not null)
        {
            Refuse(args, device is { Disabled: true } ? MqttConnectReasonCode.NotAuthorized : MqttConnectReasonCode.BadUserNameOrPassword, problem);
            return true;
        }

        var clientId = string.IsNullOrEmpty(args.ClientId) ? deviceId : args.ClientId;
        if (clientId != deviceId)
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, "a device's client id must be its device id");
            return true;
        }

        if (!await ownership.TryClaimAsync(clientId, "device:" + deviceId, CancellationToken.None).ConfigureAwait(false))
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, "client id is in use by a user's session");
            return true;
        }

        if (string.IsNullOrEmpty(args.ClientId))
        {
            args.AssignedClientIdentifier = clientId;
        }

        connections.MarkDevice(clientId, deviceId, device!.SecretHash);
        args.ReasonCode = MqttConnectReasonCode.Success;
        return true;
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

    private void Refuse(ValidatingConnectionEventArgs args, MqttConnectReasonCode code, string reason)
    {
        args.ReasonCode = code;
        args.ReasonString = reason;
        DeviceLog.ConnectRefused(logger, args.UserName ?? "", args.RemoteEndPoint?.ToString(), reason);
    }
}
