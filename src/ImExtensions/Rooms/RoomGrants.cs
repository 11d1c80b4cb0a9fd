using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// The private rooms a connection's token lets it view: claim <c>rooms</c>, an array of room ids (or a space-separated
/// string; <c>*</c> = every room). Read at CONNECT from the already validated token, kept per client id.
/// </summary>
internal sealed class RoomGrants
{
    public const string ClaimName = "rooms";

    private readonly ConcurrentDictionary<string, string[]> _byClient = new(StringComparer.Ordinal);

    public void Remember(string clientId, string? token)
    {
        var rooms = Parse(token);
        if (rooms.Length == 0)
        {
            _byClient.TryRemove(clientId, out _);
        }
        else
        {
            _byClient[clientId] = rooms;
        }
    }

    public bool Allows(string clientId, string roomId) =>
        _byClient.TryGetValue(clientId, out var rooms) && (Array.IndexOf(rooms, roomId) >= 0 || Array.IndexOf(rooms, "*") >= 0);

    private static string[] Parse(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return [];
        }

        try
        {
            var jwt = new JsonWebToken(token);
            if (!jwt.TryGetClaim(ClaimName, out _))
            {
                return [];
            }

            var raw = jwt.GetPayloadValue<JsonElement>(ClaimName);
            return raw.ValueKind switch
            {
                JsonValueKind.Array => [.. raw.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)],
                JsonValueKind.String => raw.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                _ => [],
            };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or JsonException or InvalidOperationException)
        {
            return [];
        }
    }
}
