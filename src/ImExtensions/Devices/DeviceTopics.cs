using System.Text;

namespace MqttIm.ImExtensions.Devices;

/// <summary>The device topic scheme (docs/PROTOCOL.md "Devices"): what follows <c>device/{deviceId}/</c>.</summary>
internal static class DeviceTopics
{
    public const string Telemetry = "telemetry";
    public const string Commands = "cmd";
    public const string State = "state";
    public const string Sync = "sync";
    public const string Alert = "alert";

    /// <summary>Users' side: <c>device/{id}/commands</c> issues, <c>…/commands/{commandId}</c> carries each state, <c>…/{commandId}/cancel</c> cancels.</summary>
    public const string CommandRequests = "commands";

    public static string Command(string deviceId, string commandId) => $"device/{deviceId}/cmd/{commandId}";

    public static string Reply(string deviceId, string commandId) => $"device/{deviceId}/cmd/{commandId}/reply";

    public static string StateOf(string deviceId) => $"device/{deviceId}/state";

    /// <summary>Splits <c>rest</c> (after the device id) into its first level and the remainder.</summary>
    public static (string First, string Remainder) Split(string rest)
    {
        var slash = rest.IndexOf('/');
        return slash < 0 ? (rest, "") : (rest[..slash], rest[(slash + 1)..]);
    }

    /// <summary>The command id of a <c>cmd/{commandId}</c> downlink topic's rest, else null.</summary>
    public static string? CommandIdOfDownlink(string rest)
    {
        var (first, remainder) = Split(rest);
        return first == Commands && remainder.Length > 0 && !remainder.Contains('/') ? remainder : null;
    }

    /// <summary>The command id of a <c>{commandId}/cancel</c> remainder (after <c>commands/</c>), else null.</summary>
    public static string? CommandIdOfCancel(string remainder)
    {
        var slash = remainder.IndexOf('/');
        return slash > 0 && remainder[(slash + 1)..] == "cancel" && remainder[..slash] is var id && id is not ("+" or "#") ? id : null;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
