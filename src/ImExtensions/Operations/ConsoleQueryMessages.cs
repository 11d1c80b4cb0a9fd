namespace MqttIm.ImExtensions.Operations;

/// <summary>A console question one node asks another over Redis (JSON): <c>clients</c>, <c>subscriptions</c> or <c>disconnect</c>.</summary>
internal sealed record ConsoleQuery(string Id, string Op, string AskedBy, string? Search, int Limit, string? ClientId)
{
    public const string Clients = "clients";
    public const string Subscriptions = "subscriptions";
    public const string Disconnect = "disconnect";
}

/// <summary>One node's answer to a <see cref="ConsoleQuery"/>.</summary>
internal sealed record ConsoleAnswer(
    string Id,
    string NodeId,
    int Total,
    IReadOnlyList<ConnectedClientView>? Clients,
    IReadOnlyList<ClientSubscriptionView>? Subscriptions,
    bool Disconnected);
