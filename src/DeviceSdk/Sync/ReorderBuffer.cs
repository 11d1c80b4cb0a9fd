using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Sync;

/// <summary>
/// Receiver-side rectification: releases each conversation's messages exactly once and in seq order, holds back messages
/// behind a gap, drops duplicates, and asks <c>fillGap</c> to fetch the missing seqs when a gap outlives the timeout.
/// A group conversation the buffer has no cursor for is filled at once: its history may start after seq 1 (a member
/// added later), which only the broker's sync answer can tell (<see cref="OfferSynced"/>).
/// </summary>
/// <remarks><c>release</c> is called under the buffer's lock, so it must not block (e.g. a channel write).</remarks>
internal sealed class ReorderBuffer : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ConversationCursor> _conversations = new(StringComparer.Ordinal);
    private readonly Action<ChatMessage> _release;
    private readonly Func<string, CancellationToken, Task> _fillGap;
    private readonly TimeSpan _gapTimeout;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();

    public ReorderBuffer(
        Action<ChatMessage> release,
        Func<string, CancellationToken, Task> fillGap,
        TimeSpan gapTimeout,
        IReadOnlyDictionary<string, long>? initialCursors = null,
        TimeProvider? time = null)
    {
        _release = release;
        _fillGap = fillGap;
        _gapTimeout = gapTimeout;
        _time = time ?? TimeProvider.System;
        foreach (var (conversationId, cursor) in initialCursors ?? new Dictionary<string, long>())
        {
            _conversations[conversationId] = new ConversationCursor(Math.Max(cursor, 0), known: true);
        }
    }

    /// <summary>Raised when a gap fill failed; the fill is retried after the gap timeout.</summary>
    public event Action<Exception>? FillFailed;

    /// <summary>Takes one received message: releases it (and its buffered successors), buffers it, or drops it as a duplicate.</summary>
    public void Offer(ChatMessage message)
    {
        var scheduleFill = false;
        var immediate = false;
        lock (_lock)
        {
            var state = StateOf(message.ConversationId);
            if (message.Seq <= state.Cursor)
            {
                return;
            }

            if (state.Skipped.Count > 0)
            {
                ReleaseContiguous(state);
                if (message.Seq <= state.Cursor)
                {
                    return;
                }
            }

            if (message.Seq > state.Cursor + 1)
            {
                state.Pending.TryAdd(message.Seq, message);
                state.GapSince ??= _time.GetTimestamp();
                if (!state.FillScheduled)
                {
                    state.FillScheduled = scheduleFill = true;
                    immediate = !state.Known && ConversationIds.MayStartAfterFirstSeq(message.ConversationId);
                }
            }
            else
            {
                Release(state, message);
                ReleaseContiguous(state);
            }
        }

        if (scheduleFill)
        {
            _ = FillWhenDueAsync(message.ConversationId, immediate);
        }
    }

    /// <summary>
    /// Takes one conversation of a sync page asked for with <paramref name="requestedCursor"/>. Seqs the broker skipped
    /// (before the user joined a group) are not the user's to read, so the cursor moves over them instead of waiting.
    /// </summary>
    public void OfferSynced(ConversationSync conversation, long requestedCursor)
    {
        if (conversation.HasStartAfter)
        {
            OfferSyncedWithGapReport(conversation);
            return;
        }

        // A broker that does not report start_after/skipped_seqs: a hole at the front of the answer is taken as permanent.
        long? floor = conversation.Messages.Count > 0
            ? conversation.Messages[0].Seq > requestedCursor + 1 ? conversation.Messages[0].Seq - 1 : null
            : !conversation.HasMore && conversation.MaxSeq > requestedCursor ? conversation.MaxSeq : null;
        if (floor is { } skipTo)
        {
            lock (_lock)
            {
                SkipTo(StateOf(conversation.ConversationId), skipTo);
            }
        }

        foreach (var message in conversation.Messages)
        {
            Offer(message);
        }
    }

    /// <summary>
    /// The broker says where the caller's history starts (<c>start_after</c>) and which seqs will never exist
    /// (<c>skipped_seqs</c>): the cursor moves over exactly those; any other hole is still to come and is waited for.
    /// </summary>
    private void OfferSyncedWithGapReport(ConversationSync conversation)
    {
        lock (_lock)
        {
            var state = StateOf(conversation.ConversationId);
            SkipTo(state, conversation.StartAfter);
            foreach (var seq in conversation.SkippedSeqs)
            {
                if (seq > state.Cursor)
                {
                    state.Skipped.Add(seq);
                }
            }

            ReleaseContiguous(state);
        }

        foreach (var message in conversation.Messages)
        {
            Offer(message);
        }
    }

    /// <summary>The broker no longer lists the conversation for this user (e.g. they left the group): releases what is held back instead of waiting forever.</summary>
    public void ReleaseHeld(string conversationId)
    {
        lock (_lock)
        {
            if (_conversations.TryGetValue(conversationId, out var state))
            {
                while (state.HasGap)
                {
                    SkipTo(state, state.Pending.First().Key - 1);
                }
            }
        }
    }

    /// <summary>The highest contiguous seq released per conversation.</summary>
    public IReadOnlyDictionary<string, long> Cursors()
    {
        lock (_lock)
        {
            return _conversations.ToDictionary(c => c.Key, c => c.Value.Cursor, StringComparer.Ordinal);
        }
    }

    /// <summary>The conversation's cursor, or null when the buffer has never seen it.</summary>
    public long? Cursor(string conversationId)
    {
        lock (_lock)
        {
            return _conversations.TryGetValue(conversationId, out var state) ? state.Cursor : null;
        }
    }

    /// <summary>Whether messages of the conversation are held back behind a gap.</summary>
    public bool HasGap(string conversationId)
    {
        lock (_lock)
        {
            return _conversations.TryGetValue(conversationId, out var state) && state.HasGap;
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private ConversationCursor StateOf(string conversationId)
    {
        if (!_conversations.TryGetValue(conversationId, out var state))
        {
            _conversations[conversationId] = state = new ConversationCursor(0, known: false);
        }

        return state;
    }

    private void SkipTo(ConversationCursor state, long seq)
    {
        state.Known = true;
        if (seq <= state.Cursor)
        {
            return;
        }

        state.Advance(seq);
        while (state.Pending.Count > 0 && state.Pending.First().Key <= seq)
        {
            state.Pending.Remove(state.Pending.First().Key);
        }

        ReleaseContiguous(state);
    }

    private void ReleaseContiguous(ConversationCursor state)
    {
        while (true)
        {
            if (state.Skipped.Remove(state.Cursor + 1))
            {
                state.Advance(state.Cursor + 1);
            }
            else if (state.Pending.Count > 0 && state.Pending.First() is var next && next.Key == state.Cursor + 1)
            {
                state.Pending.Remove(next.Key);
                Release(state, next.Value);
            }
            else
            {
                break;
            }
        }

        state.Skipped.RemoveWhere(seq => seq <= state.Cursor);

        // Whatever is still pending sits behind a new gap, which gets its own full timeout.
        state.GapSince = state.HasGap ? _time.GetTimestamp() : null;
    }

    private void Release(ConversationCursor state, ChatMessage message)
    {
        state.Advance(message.Seq);
        _release(message);
    }

    private async Task FillWhenDueAsync(string conversationId, bool immediate)
    {
        CancellationToken stopping;
        try
        {
            stopping = _stopping.Token;
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        // Never run the fill on the caller's thread (the MQTT receive loop or another fill).
        await Task.Yield();
        try
        {
            while (true)
            {
                TimeSpan wait;
                lock (_lock)
                {
                    var state = _conversations[conversationId];
                    if (!state.HasGap)
                    {
                        state.FillScheduled = false;
                        return;
                    }

                    wait = immediate ? TimeSpan.Zero : _gapTimeout - _time.GetElapsedTime(state.GapSince ?? _time.GetTimestamp());
                }

                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stopping).ConfigureAwait(false);
                    continue;
                }

                immediate = false;
                try
                {
                    await _fillGap(conversationId, stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stopping.IsCancellationRequested)
                {
                    FillFailed?.Invoke(ex);
                }

                lock (_lock)
                {
                    // Still a gap after the fill (e.g. it failed): try again after another full timeout.
                    var state = _conversations[conversationId];
                    if (state.HasGap)
                    {
                        state.GapSince = _time.GetTimestamp();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}
