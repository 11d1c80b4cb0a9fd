using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Sessions;

/// <summary>An <see cref="IConnectionCloser"/> that records what it was asked to close (unit tests of the session policies).</summary>
internal sealed class RecordingCloser : IConnectionCloser
{
    public List<(string ClientId, CloseReason Reason)> Closed { get; } = [];

    /// <summary>The connections closed by key (<see cref="IConnectionCloser.DisconnectConnectionAsync"/>), each also in <see cref="Closed"/>.</summary>
    public List<string> ClosedConnections { get; } = [];

    public Task DisconnectAsync(string clientId, CloseReason reason, string reasonString)
    {
        lock (Closed)
        {
            Closed.Add((clientId, reason));
        }

        return Task.CompletedTask;
    }

    public Task DisconnectConnectionAsync(string clientId, string connectionKey, CloseReason reason, string reasonString)
    {
        lock (Closed)
        {
            ClosedConnections.Add(connectionKey);
        }

        return DisconnectAsync(clientId, reason, reasonString);
    }
}
