using MqttIm.PushBridge.Jobs;
using MqttIm.PushBridge.Outcomes;

namespace MqttIm.PushBridge.Storage;

/// <summary>
/// Group commit in front of a store: writes that arrive while a commit runs wait and go together in the next one (one
/// transaction, one fsync), in arrival order. Every caller still awaits its own write's durability. No loop of its own: the
/// first writer to find no commit running starts one on the thread pool, which runs until nothing is waiting.
/// </summary>
internal sealed class GroupCommit<TWrite, TResult>(Func<IReadOnlyList<TWrite>, Task<IReadOnlyList<TResult>>> commit, int maxBatch)
{
    private readonly Lock _lock = new();
    private readonly Queue<(TWrite Write, TaskCompletionSource<TResult> Done)> _waiting = new();
    private bool _committing;

    public Task<TResult> SubmitAsync(TWrite write)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (_lock)
        {
            _waiting.Enqueue((write, done));
            start = !_committing;
            _committing = true;
        }

        if (start)
        {
            _ = Task.Run(CommitWhileWaitingAsync);
        }

        return done.Task;
    }

    private async Task CommitWhileWaitingAsync()
    {
        while (true)
        {
            var batch = new List<(TWrite Write, TaskCompletionSource<TResult> Done)>();
            lock (_lock)
            {
                while (batch.Count < maxBatch && _waiting.TryDequeue(out var next))
                {
                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    _committing = false;
                    return;
                }
            }

            try
            {
                var results = await commit([.. batch.Select(b => b.Write)]).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception) when (batch.Count > 1)
            {
                // One bad write must not fail the others: each goes again on its own.
                foreach (var (write, done) in batch)
                {
                    try
                    {
                        done.TrySetResult((await commit([write]).ConfigureAwait(false))[0]);
                    }
                    catch (Exception ex)
                    {
                        done.TrySetException(ex);
                    }
                }
            }
            catch (Exception ex)
            {
                batch[0].Done.TrySetException(ex);
            }
        }
    }
}

/// <summary>The job store behind a <see cref="GroupCommit{TWrite, TResult}"/>: saves and deletes of concurrent sends share commits; reads go straight through.</summary>
internal sealed class GroupCommittingPushJobStore(IPushJobStore inner, int maxBatch = 512) : IPushJobStore
{
    private readonly GroupCommit<PushJobWrite, bool> _writes = new(writes => inner.ApplyAsync(writes, CancellationToken.None), maxBatch);

    public Task SaveAsync(PushJob job, CancellationToken cancellationToken) => _writes.SubmitAsync(PushJobWrite.Saving(job));

    public Task<bool> DeleteAsync(string jobId, CancellationToken cancellationToken) => _writes.SubmitAsync(PushJobWrite.Deleting(jobId));

    public async Task<IReadOnlyList<bool>> ApplyAsync(IReadOnlyList<PushJobWrite> writes, CancellationToken cancellationToken) =>
        await Task.WhenAll(writes.Select(_writes.SubmitAsync)).ConfigureAwait(false);

    public Task<IReadOnlyList<PushJob>> GetAllAsync(CancellationToken cancellationToken) => inner.GetAllAsync(cancellationToken);

    public Task<IReadOnlyList<PushJob>> GetForUserAsync(string userId, CancellationToken cancellationToken) => inner.GetForUserAsync(userId, cancellationToken);
}

/// <summary>The outcome store behind a <see cref="GroupCommit{TWrite, TResult}"/>: outcomes of concurrent sends share commits.</summary>
internal sealed class GroupCommittingPushOutcomeStore(IPushOutcomeStore inner, int maxBatch = 512) : IPushOutcomeStore
{
    private readonly GroupCommit<PushOutcome, bool> _writes = new(async outcomes =>
    {
        await inner.AddManyAsync(outcomes, CancellationToken.None).ConfigureAwait(false);
        return outcomes.Select(_ => true).ToList();
    }, maxBatch);

    public Task AddAsync(PushOutcome outcome, CancellationToken cancellationToken) => _writes.SubmitAsync(outcome);

    public async Task AddManyAsync(IReadOnlyList<PushOutcome> outcomes, CancellationToken cancellationToken) =>
        await Task.WhenAll(outcomes.Select(_writes.SubmitAsync)).ConfigureAwait(false);

    public Task<IReadOnlyList<PushOutcome>> GetForUserAsync(string userId, int limit, CancellationToken cancellationToken) => inner.GetForUserAsync(userId, limit, cancellationToken);

    public Task<IReadOnlyList<PushOutcome>> GetForMessageAsync(string messageId, CancellationToken cancellationToken) => inner.GetForMessageAsync(messageId, cancellationToken);
}
