namespace MqttIm.PushBridge.Outcomes;

/// <summary>Delivery outcomes, queryable per user and per message. Implementations: SQLite, PostgreSQL, MongoDB (<c>PushOutcomeStoreContract</c>).</summary>
public interface IPushOutcomeStore
{
    Task AddAsync(PushOutcome outcome, CancellationToken cancellationToken);

    /// <summary>Adds every outcome, in order, as one commit where the backend has transactions.</summary>
    Task AddManyAsync(IReadOnlyList<PushOutcome> outcomes, CancellationToken cancellationToken);

    /// <summary>The user's newest outcomes first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<PushOutcome>> GetForUserAsync(string userId, int limit, CancellationToken cancellationToken);

    /// <summary>Every outcome of jobs that carried the message (server message id), oldest first.</summary>
    Task<IReadOnlyList<PushOutcome>> GetForMessageAsync(string messageId, CancellationToken cancellationToken);
}
