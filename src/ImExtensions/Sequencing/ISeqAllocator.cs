namespace MqttIm.ImExtensions.Sequencing;

/// <summary>Hands out each conversation's next seq: strictly increasing and contiguous from 1.</summary>
/// <remarks>Implementations: <c>InMemorySeqAllocator</c> (embedded, seeded from the store); cluster allocators must pass the same contract tests.</remarks>
public interface ISeqAllocator
{
    /// <summary>Reserves the next seq of the conversation.</summary>
    ValueTask<long> NextAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>Forgets what was handed out for these conversations, so the next seq follows what the store really holds (after a failed commit).</summary>
    ValueTask ResyncAsync(IEnumerable<string> conversationIds, CancellationToken cancellationToken);
}
