using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Sequencing;
using MqttIm.ImExtensions.Storage;
using Polly;
using Polly.Retry;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// The group commit: sends from every client queue here; one loop dedups a whole batch, allocates seqs,
/// writes the batch in one transaction, and only then completes the senders and fans the messages out.
/// </summary>
/// <remarks>
/// One loop means seqs are handed out in commit order, so each conversation's seqs are contiguous and
/// every receiver is handed them in seq order; the batch amortises one fsync over many messages.
/// </remarks>
internal sealed class MessageCommitQueue : BackgroundService
{
    private readonly Channel<PendingSend> _queue = Channel.CreateBounded<PendingSend>(new BoundedChannelOptions(65_536)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly IMessageStore _store;
    private readonly ISeqAllocator _seqAllocator;
    private readonly DeliveryLoop _delivery;
    private readonly TimeProvider _clock;
    private readonly ILogger<MessageCommitQueue> _logger;
    private readonly int _maxBatch;
    private readonly ResiliencePipeline _commitRetry;

    public MessageCommitQueue(
        IMessageStore store,
        ISeqAllocator seqAllocator,
        DeliveryLoop delivery,
        IOptions<StorageOptions> options,
        TimeProvider clock,
        ILogger<MessageCommitQueue> logger)
    {
        _store = store;
        _seqAllocator = seqAllocator;
        _delivery = delivery;
        _clock = clock;
        _logger = logger;
        _maxBatch = options.Value.MaxCommitBatch;
        _commitRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                Delay = TimeSpan.FromMilliseconds(20),
                BackoffType = DelayBackoffType.Exponential,
                OnRetry = args =>
                {
                    ImLog.CommitRetry(_logger, args.Outcome.Exception, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>Queues the send; the task completes once the message is durable (or fails when the store cannot take it).</summary>
    public async Task<SendOutcome> SubmitAsync(PendingSend send, CancellationToken cancellationToken)
    {
        await EnqueueAsync(send, cancellationToken).ConfigureAwait(false);
        return await send.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues the send and returns once it is queued (waiting only when the queue is full); <see cref="PendingSend.Completion"/> tells when it is durable.</summary>
    public ValueTask EnqueueAsync(PendingSend send, CancellationToken cancellationToken) =>
        _queue.Writer.TryWrite(send) ? ValueTask.CompletedTask : _queue.Writer.WriteAsync(send, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingSend>(_maxBatch);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < _maxBatch && reader.TryRead(out var send))
                {
                    batch.Add(send);
                }

                await CommitAsync(batch, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Whatever is still queued at shutdown was never acknowledged: fail it so its senders see an error.
        while (reader.TryRead(out var left))
        {
            left.Completion.TrySetException(new OperationCanceledException("broker is stopping"));
        }
    }

    // Scratch collections of the one commit loop, reused batch after batch (cleared at the start of each).
    private readonly List<(PendingSend Send, ChatMessage Message)> _fresh = [];
    private readonly List<(PendingSend Send, ChatMessage Original)> _repeatsInBatch = [];
    private readonly Dictionary<ClientMsgKey, ChatMessage> _firstInBatch = [];
    private readonly HashSet<ClientMsgKey> _dedupKeys = [];
    private readonly List<string> _conversationIds = [];
    private readonly List<ChatMessage> _messages = [];

    private async Task CommitAsync(List<PendingSend> batch, CancellationToken cancellationToken)
    {
        var fresh = _fresh;
        var repeatsInBatch = _repeatsInBatch;
        var firstInBatch = _firstInBatch;
        fresh.Clear();
        repeatsInBatch.Clear();
        firstInBatch.Clear();
        try
        {
            var earlier = await FindEarlierSendsAsync(batch, cancellationToken).ConfigureAwait(false);
            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var send in batch)
            {
                var key = send.DedupKey;
                if (key is { } k && earlier.TryGetValue(k, out var stored))
                {
                    ImMetrics.MessagesDuplicate.Inc();
                    send.Completion.TrySetResult(new SendOutcome(stored, Duplicate: true));
                    continue;
                }

                if (key is { } k2 && firstInBatch.TryGetValue(k2, out var original))
                {
                    repeatsInBatch.Add((send, original));
                    continue;
                }

                // The draft is this send's own (built per send, never shared), so it becomes the stored message as is.
                var message = send.Draft;
                message.ServerMsgId = Guid.CreateVersion7().ToString("N");
                message.ServerTimeMs = now;
                fresh.Add((send, message));
                if (key is { } k3)
                {
                    firstInBatch[k3] = message;
                }
            }

            if (fresh.Count > 0)
            {
                // One call for the batch's seqs, in batch order (Redis: one round trip instead of one per message).
                var conversationIds = _conversationIds;
                conversationIds.Clear();
                foreach (var (_, message) in fresh)
                {
                    conversationIds.Add(message.ConversationId);
                }

                var seqs = await _seqAllocator.NextManyAsync(conversationIds, cancellationToken).ConfigureAwait(false);
                var messages = _messages;
                messages.Clear();
                for (var i = 0; i < fresh.Count; i++)
                {
                    fresh[i].Message.Seq = seqs[i];
                    messages.Add(fresh[i].Message);
                }

                var started = Stopwatch.GetTimestamp();
                var appended = await _commitRetry.ExecuteAsync(
                    static async (state, ct) => await state.Store.AppendAsync(state.Messages, ct).ConfigureAwait(false),
                    (Store: _store, Messages: messages),
                    cancellationToken).ConfigureAwait(false);
                ImMetrics.CommitSeconds.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                ImMetrics.CommitBatchSize.Observe(messages.Count);
                if (appended.Duplicates.Count > 0)
                {
                    // A resend raced with its original on another node: the store kept the original, this one is a repeat.
                    for (var i = 0; i < repeatsInBatch.Count; i++)
                    {
                        if (appended.Duplicates.TryGetValue(ClientMsgKey.Of(repeatsInBatch[i].Original), out var stored))
                        {
                            repeatsInBatch[i] = (repeatsInBatch[i].Send, stored);
                        }
                    }

                    foreach (var (send, _) in fresh)
                    {
                        if (send.DedupKey is { } key && appended.Duplicates.TryGetValue(key, out var stored))
                        {
                            repeatsInBatch.Add((send, stored));
                        }
                    }

                    fresh.RemoveAll(f => f.Send.DedupKey is { } key && appended.Duplicates.ContainsKey(key));
                }

                ImMetrics.MessagesAccepted.Inc(fresh.Count);
            }
        }
        catch (Exception ex)
        {
            ImLog.CommitFailed(_logger, ex, fresh.Count);
            await _seqAllocator.ResyncAsync(fresh.Select(f => f.Message.ConversationId).Distinct().ToList(), CancellationToken.None).ConfigureAwait(false);
            var failure = new StoreUnavailableException("the message store did not accept the message", ex);
            foreach (var send in batch)
            {
                send.Completion.TrySetException(failure);
            }

            return;
        }

        // Handed over in commit order to the one delivery loop first (receivers get each conversation's seqs in order),
        // so the fan-out runs beside the completions below: a device's send completes inline (PendingSend.CompleteInline),
        // and its PUBACK is then written from this thread.
        foreach (var (send, message) in fresh)
        {
            await _delivery.EnqueueAsync(send, message, cancellationToken).ConfigureAwait(false);
        }

        foreach (var (send, message) in fresh)
        {
            send.Completion.TrySetResult(new SendOutcome(message, Duplicate: false));
        }

        foreach (var (send, original) in repeatsInBatch)
        {
            ImMetrics.MessagesDuplicate.Inc();
            send.Completion.TrySetResult(new SendOutcome(original, Duplicate: true));
        }
    }

    private async Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindEarlierSendsAsync(List<PendingSend> batch, CancellationToken cancellationToken)
    {
        // Without a contiguity to keep, the append's own dedup (AppendResult.Duplicates) answers resends: no extra round trip.
        if (!_seqAllocator.KeepsSeqsContiguous)
        {
            return NoEarlierSends;
        }

        var keys = _dedupKeys;
        keys.Clear();
        foreach (var send in batch)
        {
            if (send.DedupKey is { } key)
            {
                keys.Add(key);
            }
        }

        return keys.Count == 0
            ? NoEarlierSends
            : await _store.FindByClientMsgIdsAsync(keys, cancellationToken).ConfigureAwait(false);
    }

    private static readonly IReadOnlyDictionary<ClientMsgKey, ChatMessage> NoEarlierSends = new Dictionary<ClientMsgKey, ChatMessage>();
}

/// <summary>The store refused a commit after retries: nothing of that batch was acknowledged.</summary>
internal sealed class StoreUnavailableException(string message, Exception inner) : Exception(message, inner);
