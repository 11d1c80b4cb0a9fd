using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Auth;

/// <summary>
/// Closes a connection when the access token it connected with expires (plus <c>Auth:ExpiryGrace</c>): MQTT 5 clients get
/// DISCONNECT 0x87 Not authorized with the reason, 3.1.1 clients a closed socket. One timer per live connection.
/// </summary>
internal sealed class TokenExpiryEnforcer(
    ConnectedDeviceRegistry registry,
    MqttServer server,
    TimeProvider clock,
    IOptions<AuthOptions> options,
    ILogger<TokenExpiryEnforcer> logger)
{
    // Validated but not yet connected: CONNECT validation and the connected event are separate MQTTnet callbacks, and
    // session items do not survive a resumed session. Bounded: a validation whose connection never completes is dropped.
    private readonly BoundedLruCache<string, DateTimeOffset> _validated = new("token_expiry_pending", 10_000, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string ConnectionKey, ITimer Timer)> _armed = new(StringComparer.Ordinal);

    public int ArmedCount => _armed.Count;

    /// <summary>Remembers when the token of the connection being validated for <paramref name="clientId"/> expires.</summary>
    public void Validated(string clientId, DateTimeOffset expiresAt) => _validated.Set(clientId, expiresAt);

    /// <summary>Starts the connection's expiry timer.</summary>
    public void Connected(ConnectedDevice device)
    {
        if (!_validated.TryGetValue(device.ClientId, out var expiresAt))
        {
            return;
        }

        _validated.Remove(device.ClientId);
        var due = expiresAt + options.Value.ExpiryGrace - clock.GetUtcNow();
        var timer = clock.CreateTimer(_ => _ = DisconnectAsync(device), null, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        _armed.AddOrUpdate(device.ClientId, (device.ConnectionKey, timer), (_, previous) =>
        {
            previous.Timer.Dispose();
            return (device.ConnectionKey, timer);
        });
    }

    /// <summary>Stops the timer of that connection (a later connection with the same client id keeps its own).</summary>
    public void Disconnected(string clientId, string connectionKey)
    {
        if (_armed.TryGetValue(clientId, out var armed) && armed.ConnectionKey == connectionKey
            && _armed.TryRemove(new KeyValuePair<string, (string, ITimer)>(clientId, armed)))
        {
            armed.Timer.Dispose();
        }
    }

    private async Task DisconnectAsync(ConnectedDevice device)
    {
        try
        {
            if (registry.Find(device.ClientId) is not { } current || current.ConnectionKey != device.ConnectionKey)
            {
                return;
            }

            ImLog.ClientKicked(logger, device.ClientId, "access token expired");
            SessionMetrics.TokenExpiryDisconnects.Inc();
            await server.DisconnectClientAsync(device.ClientId, new MqttServerClientDisconnectOptions
            {
                ReasonCode = MqttDisconnectReasonCode.NotAuthorized,
                ReasonString = "access token expired; connect again with a fresh token",
            }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ImLog.KickFailed(logger, ex, device.ClientId);
        }
    }
}
