using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>CONNECT: username = user id, password = access token; the client id must not belong to another user's session.</summary>
internal sealed class ConnectionValidator(
    JwtTokenValidator tokens,
    ClientIdOwnership ownership,
    DeviceLifecycle lifecycle,
    TokenExpiryEnforcer tokenExpiry,
    SessionExpiryTracker sessionExpiry,
    Devices.DeviceAuthenticator devices,
    Rooms.RoomGrants roomGrants,
    Microsoft.Extensions.Options.IOptions<AuthOptions> authOptions,
    BrokerState.PersistentSessions persistentSessions,
    IClientIdClaims clientIdClaims,
    ConnectOrder connectOrder,
    ILogger<ConnectionValidator> logger)
{
    public async Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        await ValidateCredentialsAsync(args).ConfigureAwait(false);
        if (args.ReasonCode == MqttConnectReasonCode.Success)
        {
            // Before the CONNACK: a cluster node that sees this client id next must find this connection to take over.
            var clientId = string.IsNullOrEmpty(args.ClientId) ? args.AssignedClientIdentifier : args.ClientId;
            var connectionKey = DeviceLifecycle.ConnectionKeyOf(args.RemoteEndPoint);
            await clientIdClaims.ClaimAsync(clientId, connectionKey).ConfigureAwait(false);
            connectOrder.Accepted(connectionKey);
        }
    }

    private async Task ValidateCredentialsAsync(ValidatingConnectionEventArgs args)
    {
        // IoT devices (a device secret or device token as password) are the device registry's to decide.
        var device = await devices.TryValidateAsync(args.ClientId, args.UserName, args.Password, args.RemoteEndPoint?.ToString()).ConfigureAwait(false);
        if (device.Outcome != Devices.DeviceConnectOutcome.NotADevice)
        {
            ApplyDeviceVerdict(args, device);
            return;
        }

        if (string.IsNullOrEmpty(args.UserName) && string.IsNullOrEmpty(args.Password))
        {
            await ValidateAnonymousAsync(args).ConfigureAwait(false);
            return;
        }

        var userId = args.UserName;
        if (!UserIds.IsValid(userId))
        {
            Refuse(args, MqttConnectReasonCode.BadUserNameOrPassword, "username must be the user id: " + UserIds.Rule);
            return;
        }

        var (tokenProblem, expiresAt) = await tokens.CheckAsync(userId, args.Password).ConfigureAwait(false);
        if (tokenProblem is not null)
        {
            Refuse(args, MqttConnectReasonCode.BadUserNameOrPassword, tokenProblem);
            return;
        }

        if (string.IsNullOrEmpty(args.ClientId))
        {
            // MQTT 5 lets the server assign the id; 3.1.1 clients get the same treatment for clean sessions.
            args.AssignedClientIdentifier = $"{userId}-{Guid.NewGuid():N}";
        }
        else if (!await ownership.TryClaimAsync(args.ClientId, userId, CancellationToken.None).ConfigureAwait(false))
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, "client id belongs to another user");
            return;
        }

        if (args.CleanSession == true && !string.IsNullOrEmpty(args.ClientId))
        {
            lifecycle.ForgetSessionState(args.ClientId);
        }

        var clientId = string.IsNullOrEmpty(args.ClientId) ? args.AssignedClientIdentifier : args.ClientId;
        tokenExpiry.Validated(clientId, expiresAt);
        sessionExpiry.Connecting(clientId, DeviceLifecycle.ConnectionKeyOf(args.RemoteEndPoint), args.CleanSession ?? true, args.SessionExpiryInterval);
        persistentSessions.Connecting(clientId, args.CleanSession ?? true, args.SessionExpiryInterval, args.ProtocolVersion == MQTTnet.Formatter.MqttProtocolVersion.V500);
        roomGrants.Remember(clientId, args.Password);
        args.ReasonCode = MqttConnectReasonCode.Success;
    }

    /// <summary>No user name and no password: allowed only with <c>Auth:AllowAnonymous</c>, for plain topics (<c>Routing.AnonymousTopicAcl</c>).</summary>
    private async Task ValidateAnonymousAsync(ValidatingConnectionEventArgs args)
    {
        if (!authOptions.Value.AllowAnonymous)
        {
            // MQTTnet answers an MQTT 5 CONNECT without client id and without an assigned one with 0x85, hiding this refusal.
            args.AssignedClientIdentifier = string.IsNullOrEmpty(args.ClientId) ? "anonymous" : null;
            Refuse(args, MqttConnectReasonCode.NotAuthorized, "a user name and token are required (anonymous clients are not allowed here)");
            return;
        }

        if (string.IsNullOrEmpty(args.ClientId))
        {
            args.AssignedClientIdentifier = $"anonymous-{Guid.NewGuid():N}";
        }
        else if (!await ownership.TryClaimAsync(args.ClientId, AnonymousOptions.ClientIdOwner, CancellationToken.None).ConfigureAwait(false))
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, "client id belongs to a user");
            return;
        }

        var clientId = string.IsNullOrEmpty(args.ClientId) ? args.AssignedClientIdentifier : args.ClientId;
        if (args.CleanSession == true)
        {
            lifecycle.ForgetSessionState(clientId);
        }

        sessionExpiry.Connecting(clientId, DeviceLifecycle.ConnectionKeyOf(args.RemoteEndPoint), args.CleanSession ?? true, args.SessionExpiryInterval);
        persistentSessions.Connecting(clientId, args.CleanSession ?? true, args.SessionExpiryInterval, args.ProtocolVersion == MQTTnet.Formatter.MqttProtocolVersion.V500);
        args.ReasonCode = MqttConnectReasonCode.Success;
    }

    private static void ApplyDeviceVerdict(ValidatingConnectionEventArgs args, in Devices.DeviceConnectVerdict verdict)
    {
        if (verdict.Outcome == Devices.DeviceConnectOutcome.Accepted)
        {
            if (verdict.AssignedClientId is { } assigned)
            {
                args.AssignedClientIdentifier = assigned;
            }

            args.ReasonCode = MqttConnectReasonCode.Success;
            return;
        }

        // The device registry logged the refusal.
        args.ReasonCode = verdict.Outcome switch
        {
            Devices.DeviceConnectOutcome.Disabled => MqttConnectReasonCode.NotAuthorized,
            Devices.DeviceConnectOutcome.ClientIdNotValid => MqttConnectReasonCode.ClientIdentifierNotValid,
            _ => MqttConnectReasonCode.BadUserNameOrPassword,
        };
        args.ReasonString = verdict.Reason;
    }

    private void Refuse(ValidatingConnectionEventArgs args, MqttConnectReasonCode code, string reason)
    {
        args.ReasonCode = code;
        args.ReasonString = reason;
        ImLog.ConnectionRefused(logger, args.ClientId ?? "", args.UserName, args.RemoteEndPoint?.ToString(), reason);
    }
}
