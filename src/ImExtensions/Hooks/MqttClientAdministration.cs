using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Operations;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>The console's view of MQTTnet's connected clients (joined with the broker's own registry) and the disconnect action.</summary>
public sealed class MqttClientAdministration : ILocalClients
{
    private readonly MqttServer _server;
    private readonly ConnectedDeviceRegistry _registry;
    private readonly ClientSubscriptions _subscriptions;

    internal MqttClientAdministration(MqttServer server, ConnectedDeviceRegistry registry, ClientSubscriptions subscriptions)
    {
        _server = server;
        _registry = registry;
        _subscriptions = subscriptions;
    }

    /// <summary>Connected clients whose client id or user id contains <paramref name="search"/> (all when empty), newest first, at most <paramref name="limit"/>.</summary>
    public async Task<(IReadOnlyList<ConnectedClientView> Clients, int Total)> ListAsync(string? search, int limit)
    {
        var clients = await _server.GetClientsAsync().ConfigureAwait(false);
        var views = new List<ConnectedClientView>(clients.Count);
        foreach (var client in clients)
        {
            var device = _registry.Find(client.Id);
            if (!string.IsNullOrEmpty(search)
                && !client.Id.Contains(search, StringComparison.OrdinalIgnoreCase)
                && device?.UserId.Contains(search, StringComparison.OrdinalIgnoreCase) != true)
            {
                continue;
            }

            views.Add(new ConnectedClientView(
                client.Id,
                device?.UserId,
                client.RemoteEndPoint?.ToString() ?? "",
                client.ProtocolVersion.ToString(),
                device?.Platform ?? "",
                new DateTimeOffset(client.ConnectedTimestamp.ToUniversalTime()).ToUnixTimeMilliseconds(),
                client.ReceivedApplicationMessagesCount,
                client.SentApplicationMessagesCount,
                client.BytesReceived,
                client.BytesSent,
                client.Session.PendingApplicationMessagesCount,
                _subscriptions.Of(client.Id)));
        }

        return ([.. views.OrderByDescending(v => v.ConnectedMs).ThenBy(v => v.ClientId, StringComparer.Ordinal).Take(limit)], views.Count);
    }

    /// <summary>Disconnects the client with DISCONNECT reason AdministrativeAction (MQTT 5); false when it is not connected.</summary>
    public async Task<bool> DisconnectAsync(string clientId)
    {
        var clients = await _server.GetClientsAsync().ConfigureAwait(false);
        var client = clients.FirstOrDefault(c => c.Id == clientId);
        if (client is null)
        {
            return false;
        }

        await client.DisconnectAsync(new MqttServerClientDisconnectOptions
        {
            ReasonCode = MqttDisconnectReasonCode.AdministrativeAction,
            ReasonString = "disconnected by an operator",
        }).ConfigureAwait(false);

        // MQTTnet drops the connection from its client list when the connection's loop ends, just after the call above
        // returns: wait for that (bounded), so a listing made right after this answer (the console re-lists at once)
        // no longer shows the connection. A reconnect of the same client id is another connection (another timestamp).
        for (var attempt = 0; attempt < GoneChecks && await IsStillListedAsync(client).ConfigureAwait(false); attempt++)
        {
            await Task.Delay(GoneCheckInterval).ConfigureAwait(false);
        }

        return true;
    }

    private const int GoneChecks = 100;
    private static readonly TimeSpan GoneCheckInterval = TimeSpan.FromMilliseconds(20);

    private async Task<bool> IsStillListedAsync(MqttClientStatus disconnected) =>
        (await _server.GetClientsAsync().ConfigureAwait(false))
            .Any(c => c.Id == disconnected.Id && c.ConnectedTimestamp == disconnected.ConnectedTimestamp);
}
