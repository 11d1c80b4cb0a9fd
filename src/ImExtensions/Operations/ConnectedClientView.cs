namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// One connected MQTT client as the operations console shows it (no MQTTnet types past the hook boundary); in a cluster
/// with the node that holds it.
/// </summary>
public sealed record ConnectedClientView(
    string ClientId,
    string? UserId,
    string Endpoint,
    string ProtocolVersion,
    string Platform,
    long ConnectedMs,
    long MessagesReceived,
    long MessagesSent,
    long BytesReceived,
    long BytesSent,
    long PendingMessages,
    IReadOnlyList<SubscriptionView> Subscriptions,
    string? NodeId = null);
