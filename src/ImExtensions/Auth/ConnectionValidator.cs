using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Auth;

/// <summary>CONNECT: username = user id, password = access token; the client id must not belong to another user's session.</summary>
internal sealed class ConnectionValidator(JwtTokenValidator tokens, ClientIdOwnership ownership, DeviceLifecycle lifecycle, Rooms.RoomGrants roomGrants, ILogger<ConnectionValidator> logger)
{
    public async Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        var userId = args.UserName;
        if (!UserIds.IsValid(userId))
        {
            Refuse(args, MqttConnectReasonCode.BadUserNameOrPassword, "username must be the user id: " + UserIds.Rule);
            return;
        }

        var tokenProblem = await tokens.ValidateAsync(userId, args.Password).ConfigureAwait(false);
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
        else if (!ownership.TryClaim(args.ClientId, userId))
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, "client id is in use by another user's session");
            return;
        }

        if (args.CleanSession == true && !string.IsNullOrEmpty(args.ClientId))
        {
            lifecycle.ForgetSessionState(args.ClientId);
        }

        roomGrants.Remember(string.IsNullOrEmpty(args.ClientId) ? args.AssignedClientIdentifier : args.ClientId, args.Password);
        args.ReasonCode = MqttConnectReasonCode.Success;
    }

    private void Refuse(ValidatingConnectionEventArgs args, MqttConnectReasonCode code, string reason)
    {
        args.ReasonCode = code;
        args.ReasonString = reason;
        ImLog.ConnectionRefused(logger, args.ClientId ?? "", args.UserName, args.RemoteEndPoint?.ToString(), reason);
    }
}
