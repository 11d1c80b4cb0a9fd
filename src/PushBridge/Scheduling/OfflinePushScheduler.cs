using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Cluster;
using MqttIm.PushBridge.Delivery;
using MqttIm.PushBridge.Diagnostics;
using MqttIm.PushBridge.Jobs;
using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Scheduling;

/// <summary>
/// When to push. P0 is due at once and never merged or held by quiet hours or the rate limit. P1–P3 open one job per
/// user that collects every further message until it is due (<see cref="PushOptions.MergeWindow"/> after the first),
/// postponed to the end of the user's quiet hours. Every accepted job is saved before it counts as pending, so a restart
/// resumes it; a device coming online cancels the user's pending jobs (it now gets messages live and syncs the rest).
/// </summary>
/// <remarks><see cref="AcceptAsync"/> and <see cref="DeviceOnlineAsync"/> are called from one intake loop, so they never race each other.</remarks>
internal sealed class OfflinePushScheduler
{
    private const int MaxMergedIds = 100;
    private const int MaxMergedSenders = 10;
    private readonly IPushJobStore _jobs;
    private readonly IPushTokenStore _tokens;
    private readonly IPushOutcomeStore _outcomes;
    private readonly PushSender _sender;
    private readonly PushOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ClusterNode _node;
    private readonly SemaphoreSlim _sendSlots = new(64, 64);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, PushJob> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _openByUser = new(StringComparer.Ordinal);

    public OfflinePushScheduler(IPushJobStore jobs, IPushTokenStore tokens, IPushOutcomeStore outcomes, PushSender sender, PushOptions options, TimeProvider time,
        ILogger<OfflinePushScheduler> logger, ClusterNode node)
    {
        (_jobs, _tokens, _outcomes, _sender, _options, _time, _logger, _node) = (jobs, tokens, outcomes, sender, options, time, logger, node);
    }

    /// <summary>The owner stamped on new jobs: this node in a cluster, nobody in particular on a single node.</summary>
    private string Owner => _node.IsClustered ? _node.NodeId : "";

    /// <summary>Raised when a job was added or finished, so the dispatch loop recomputes its next wake-up.</summary>
    public event Action? Changed;

    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Restores the jobs saved before a restart (in a cluster: this node's own; the other nodes' are theirs to send).</summary>
    public async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        var saved = (await _jobs.GetAllAsync(cancellationToken).ConfigureAwait(false)).Where(j => !_node.IsClustered || j.OwnerNode == _node.NodeId).ToList();
        lock (_lock)
        {
            foreach (var job in saved)
            {
                _pending[job.Id] = job;
                if (job.Priority > 0)
                {
                    _openByUser[job.UserId] = job.Id;
                }
            }

            PushMetrics.PendingJobs.Set(_pending.Count);
        }

        Changed?.Invoke();
        return saved.Count;
    }

    /// <summary>
    /// Takes over a dead node's pending jobs: each is saved with this node as its owner before it is scheduled here, so a
    /// restart of either node loads it once. (A job the dead node had handed to the vendor but not yet deleted is sent again.)
    /// </summary>
    public async Task<int> AdoptAsync(string deadNodeId, CancellationToken cancellationToken)
    {
        var orphans = (await _jobs.GetAllAsync(cancellationToken).ConfigureAwait(false)).Where(j => j.OwnerNode == deadNodeId).ToList();
        foreach (var orphan in orphans)
        {
            var adopted = orphan with { OwnerNode = Owner };
            await _jobs.SaveAsync(adopted, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _pending[adopted.Id] = adopted;
                if (adopted.Priority > 0)
                {
                    _openByUser.TryAdd(adopted.UserId, adopted.Id);
                }

                PushMetrics.PendingJobs.Set(_pending.Count);
            }
        }

        PushLog.Adopted(_logger, orphans.Count, deadNodeId);
        Changed?.Invoke();
        return orphans.Count;
    }

    /// <summary>Takes the message into a job (new or merged) and saves it; completes when the job is durable.</summary>
    public async Task AcceptAsync(OfflineMessage message, CancellationToken cancellationToken) =>
        await (await BeginAcceptAsync(message, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>
    /// <see cref="AcceptAsync"/> up to handing the save to the store; the returned task completes when the job is durable.
    /// The intake loop goes on to the next report meanwhile, so saves of many reports share group commits; a later write
    /// of the same job (a merge, its delete after sending) is queued behind this one.
    /// </summary>
    public async Task<Task> BeginAcceptAsync(OfflineMessage message, CancellationToken cancellationToken)
    {
        var job = MergeIntoOpenJob(message);
        if (job is null)
        {
            if ((await _tokens.GetForUserAsync(message.UserId, cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                PushMetrics.Outcomes.WithLabels("", PushResults.NoToken).Inc(); // no job and no record: most users without push cost one read
                return Task.CompletedTask;
            }

            var now = _time.GetUtcNow();
            var due = now;
            if (message.Priority > 0)
            {
                due = now + _options.MergeWindow;
                var preferences = await _tokens.GetPreferencesAsync(message.UserId, cancellationToken).ConfigureAwait(false);
                var postponed = QuietHours.Postpone(due, preferences);
                if (postponed > due)
                {
                    PushMetrics.Deferred.WithLabels("quiet_hours").Inc();
                    due = postponed;
                }
            }

            job = NewJob(message, now, due) with { OwnerNode = Owner };
            lock (_lock)
            {
                _pending[job.Id] = job;
                if (job.Priority > 0)
                {
                    _openByUser[job.UserId] = job.Id;
                }

                PushMetrics.PendingJobs.Set(_pending.Count);
            }
        }
        else
        {
            PushMetrics.Merged.Inc();
        }

        var saved = _jobs.SaveAsync(job, cancellationToken);
        Changed?.Invoke();
        return saved;
    }

    /// <summary>Cancels the user's pending jobs that are not being sent right now; each gets a <c>cancelled_online</c> outcome.</summary>
    public async Task<int> DeviceOnlineAsync(string userId, CancellationToken cancellationToken)
    {
        List<PushJob> cancelled;
        lock (_lock)
        {
            cancelled = _pending.Values.Where(j => j.UserId == userId && !_inFlight.Contains(j.Id)).ToList();
            foreach (var job in cancelled)
            {
                _pending.Remove(job.Id);
            }

            _openByUser.Remove(userId);
            PushMetrics.PendingJobs.Set(_pending.Count);
        }

        foreach (var job in cancelled)
        {
            await _jobs.DeleteAsync(job.Id, cancellationToken).ConfigureAwait(false);
            PushMetrics.Outcomes.WithLabels("", PushResults.CancelledOnline).Inc();
            await _outcomes.AddAsync(new PushOutcome(job.Id, userId, job.MessageIds, "", "", "", PushResults.CancelledOnline, "a device came online before the push was due",
                job.Attempts, _time.GetUtcNow().ToUnixTimeMilliseconds()), cancellationToken).ConfigureAwait(false);
        }

        return cancelled.Count;
    }

    /// <summary>The earliest due time of a job not being sent, if any.</summary>
    public DateTimeOffset? NextDue()
    {
        lock (_lock)
        {
            var next = _pending.Values.Where(j => !_inFlight.Contains(j.Id)).Select(j => (long?)j.DueMs).Min();
            return next is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        }
    }

    /// <summary>Starts sending every job that is due and completes when those sends are done (the loop does not wait for it).</summary>
    public Task RunDueAsync(CancellationToken cancellationToken)
    {
        List<PushJob> due;
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            due = _pending.Values.Where(j => j.DueMs <= nowMs && !_inFlight.Contains(j.Id)).OrderBy(j => j.DueMs).ToList();
            foreach (var job in due)
            {
                _inFlight.Add(job.Id);
                if (_openByUser.TryGetValue(job.UserId, out var open) && open == job.Id)
                {
                    _openByUser.Remove(job.UserId); // later messages open a new job instead of changing one being sent
                }
            }
        }

        return due.Count == 0 ? Task.CompletedTask : Task.WhenAll(due.Select(job => SendAsync(job, cancellationToken)));
    }

    private async Task SendAsync(PushJob job, CancellationToken cancellationToken)
    {
        await _sendSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_node.IsClustered && !await StillOwnedAsync(job, cancellationToken).ConfigureAwait(false))
            {
                // Adopted by another node (this one was taken for dead) or cancelled there: that node sends it, or nobody.
                Finish(job.Id, requeued: null);
                return;
            }

            var waitUntil = await _sender.SendAsync(job, cancellationToken).ConfigureAwait(false);
            if (waitUntil is null)
            {
                await _jobs.DeleteAsync(job.Id, cancellationToken).ConfigureAwait(false);
                Finish(job.Id, requeued: null);
            }
            else
            {
                var later = job with { DueMs = waitUntil.Value.ToUnixTimeMilliseconds(), Attempts = job.Attempts + 1 };
                await _jobs.SaveAsync(later, cancellationToken).ConfigureAwait(false);
                Finish(job.Id, later);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A store or programming error: the job stays saved and is tried again later.
            PushLog.JobFailed(_logger, ex, job.Id, job.UserId);
            Finish(job.Id, job with { DueMs = _time.GetUtcNow().AddSeconds(30).ToUnixTimeMilliseconds(), Attempts = job.Attempts + 1 });
        }
        finally
        {
            _sendSlots.Release();
        }
    }

    private async Task<bool> StillOwnedAsync(PushJob job, CancellationToken cancellationToken) =>
        (await _jobs.GetForUserAsync(job.UserId, cancellationToken).ConfigureAwait(false)).FirstOrDefault(j => j.Id == job.Id) is { } stored && stored.OwnerNode == _node.NodeId;

    private void Finish(string jobId, PushJob? requeued)
    {
        lock (_lock)
        {
            _inFlight.Remove(jobId);
            if (requeued is null)
            {
                _pending.Remove(jobId);
            }
            else
            {
                _pending[jobId] = requeued;
                if (requeued.Priority > 0)
                {
                    _openByUser.TryAdd(requeued.UserId, jobId); // a postponed job keeps collecting messages
                }
            }

            PushMetrics.PendingJobs.Set(_pending.Count);
        }

        Changed?.Invoke();
    }

    private PushJob? MergeIntoOpenJob(OfflineMessage message)
    {
        if (message.Priority == 0)
        {
            return null;
        }

        lock (_lock)
        {
            if (!_openByUser.TryGetValue(message.UserId, out var id) || !_pending.TryGetValue(id, out var open) || _inFlight.Contains(id))
            {
                return null;
            }

            var merged = open with
            {
                Priority = Math.Min(open.Priority, message.Priority),
                CollapseId = open.ConversationId == message.ConversationId ? open.CollapseId : CollapseIds.Merged,
                SenderId = message.SenderId,
                ConversationId = message.ConversationId,
                Title = message.Title,
                Text = message.Text,
                Senders = open.Senders.Contains(message.SenderId) || open.Senders.Count >= MaxMergedSenders ? open.Senders : [.. open.Senders, message.SenderId],
                MessageIds = open.MessageIds.Count >= MaxMergedIds ? open.MessageIds : [.. open.MessageIds, message.MessageId],
                MessageCount = open.MessageCount + 1,
            };
            _pending[id] = merged;
            return merged;
        }
    }

    private static PushJob NewJob(OfflineMessage message, DateTimeOffset now, DateTimeOffset due) => new()
    {
        Id = Guid.CreateVersion7(now).ToString("N"),
        UserId = message.UserId,
        Priority = message.Priority,
        CreatedMs = now.ToUnixTimeMilliseconds(),
        DueMs = due.ToUnixTimeMilliseconds(),
        CollapseId = CollapseIds.ForConversation(message.ConversationId),
        SenderId = message.SenderId,
        ConversationId = message.ConversationId,
        Title = message.Title,
        Text = message.Text,
        Senders = [message.SenderId],
        MessageIds = [message.MessageId],
    };
}
