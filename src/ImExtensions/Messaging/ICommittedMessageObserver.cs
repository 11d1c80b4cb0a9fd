using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// Told of every committed message after its fan-out (presence records 1:1 writers). Declared here, implemented by
/// higher areas, so Messaging does not depend on them.
/// </summary>
internal interface ICommittedMessageObserver
{
    /// <summary>Never throws for a bad message; the delivery loop logs whatever escapes.</summary>
    ValueTask NoteCommittedAsync(ChatMessage message, CancellationToken cancellationToken);
}
