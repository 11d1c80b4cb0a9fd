using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk.Sync;

/// <summary>
/// Receiver-side rectification: releases each conversation's messages exactly once and in seq order, holds back messages
/// behind a gap, drops duplicates, and asks <c>fillGap</c> to fetch the missing seqs when a gap outlives the timeout.
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
            _conversations[conversationId] = new ConversationCursor(Math.Max(cursor, 0));
        }
    }

    /// <summary>Raised when a gap fill failed; the fill is retried after the gap timeout.</summary>
    public event Action<Exception>? FillFailed;

    /// <summary>Takes one received message: releases it (and its buffered successors), buffers it, or drops it as a duplicate.</summary>
    public void Offer(ChatMessage message)
    {
        var scheduleFill = false;
        lock (_lock)
        {
            if (!_conversations.TryGetValue(message.ConversationId, out var state))
            {
                _conversations[message.ConversationId] = state = new ConversationCursor(0);
            }

            if (message.Seq <= state.Cursor)
            {
                return;
            }

            if (message.Seq > state.Cursor + 1)
            {
                state.Pending.TryAdd(message.Seq, message);
                state.GapSince ??= _time.GetTimestamp();
                if (!state.FillScheduled)
                {
                    state.FillScheduled = scheduleFill = true;
                }
            }
            else
            {
                Release(state, message);
                while (state.Pending.Count > 0 && state.Pending.First() is var next && next.Key == state.Cursor + 1)
                {
                    state.Pending.Remove(next.Key);
                    Release(state, next.Value);
                }

                // Whatever is still pending sits behind a new gap, which gets its own full timeout.
                state.GapSince = state.HasGap ? _time.GetTimestamp() : null;
            }
        }

        if (scheduleFill)
        {
            _ = FillWhenDueAsync(message.ConversationId);
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

    private void Release(ConversationCursor state, ChatMessage message)
    {
        state.Advance(message.Seq);
        _release(message);
    }

    private async Task FillWhenDueAsync(string conversationId)
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

                    wait = _gapTimeout - _time.GetElapsedTime(state.GapSince ?? _time.GetTimestamp());
                }

                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stopping).ConfigureAwait(false);
                    continue;
                }

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
