namespace MqttIm.ImExtensions.Sessions;

/// <summary>Tells connections of one client id apart (a takeover's late disconnect must not end the new connection's state): their remote end point.</summary>
internal static class ConnectionKeys
{
    public static string Of(System.Net.EndPoint? endPoint) => endPoint?.ToString() ?? "local";
}
