using System.Threading.Channels;
using MqttIm.Contracts.V1;
using Microsoft.Extensions.Time.Testing;
using MqttIm.DeviceSdk.Sync;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>The receiver-side rectification on its own: out-of-order input in, per-conversation seq order out.</summary>
public sealed class ReorderBufferTests
{
    private const string Conversation = "c2c:alice:bob";
    private static readonly TimeSpan Never = TimeSpan.FromMinutes(10);

    private readonly Channel<ChatMessage> _released = Channel.CreateUnbounded<ChatMessage>();

    [Fact]
    public async Task InOrderMessagesAreReleasedAtOnce()
    {
        using var buffer = NewBuffer(FailOnFill, Never);
        buffer.Offer(Message(1));
        buffer.Offer(Message(2));

        Assert.Equal([1L, 2L], (await NextAsync(2)).Seqs());
        Assert.Equal(2, buffer.Cursors()[Conversation]);
    }

    [Fact]
    public async Task GapFilledByLaterArrivalReleasesEverythingInSeqOrder()
    {
        using var buffer = NewBuffer(FailOnFill, Never);
        foreach (var seq in new long[] { 1, 3, 5, 4 })
        {
            buffer.Offer(Message(seq));
        }

        Assert.Equal([1L], (await NextAsync(1)).Seqs());
        Assert.False(_released.Reader.TryRead(out _), "3..5 must wait for 2");
        Assert.True(buffer.HasGap(Conversation));

        buffer.Offer(Message(2));

        Assert.Equal([2L, 3L, 4L, 5L], (await NextAsync(4)).Seqs());
        Assert.False(buffer.HasGap(Conversation));
        Assert.Equal(5, buffer.Cursors()[Conversation]);
    }

    [Fact]
    public async Task DuplicatesAreDropped()
    {
        using var buffer = NewBuffer(FailOnFill, Never);
        foreach (var seq in new long[] { 1, 2, 2, 1, 4, 4, 3, 3, 2 })
        {
            buffer.Offer(Message(seq));
        }

        Assert.Equal([1L, 2L, 3L, 4L], (await NextAsync(4)).Seqs());
        Assert.False(_released.Reader.TryRead(out var extra), $"duplicate released: {extra?.Seq}");
    }

    [Fact]
    public async Task InitialCursorsSkipWhatTheAppAlreadyHolds()
    {
        using var buffer = NewBuffer(FailOnFill, Never, new Dictionary<string, long> { [Conversation] = 5 });
        buffer.Offer(Message(4));
        buffer.Offer(Message(5));
        buffer.Offer(Message(7));
        buffer.Offer(Message(6));

        Assert.Equal([6L, 7L], (await NextAsync(2)).Seqs());
    }

    [Fact]
    public async Task ConversationsAreOrderedIndependently()
    {
        using var buffer = NewBuffer(FailOnFill, Never);
        buffer.Offer(Message(2, "c2c:a:b"));
        buffer.Offer(Message(1, "c2c:a:c"));
        buffer.Offer(Message(2, "c2c:a:c"));

        var released = await NextAsync(2);
        Assert.All(released, m => Assert.Equal("c2c:a:c", m.ConversationId));
        Assert.True(buffer.HasGap("c2c:a:b"));

        buffer.Offer(Message(1, "c2c:a:b"));
        var rest = await NextAsync(2);
        Assert.All(rest, m => Assert.Equal("c2c:a:b", m.ConversationId));
        Assert.Equal([1L, 2L], rest.Seqs());
    }

    [Fact]
    public async Task GapOutlivingTheTimeoutIsFilledBySync()
    {
        // A fake clock: the fill may come only once the clock has passed the gap timeout, however slow the machine is.
        var clock = new FakeTimeProvider();
        var gapTimeout = TimeSpan.FromMilliseconds(150);
        var fills = new List<(string Conversation, DateTimeOffset At)>();
        ReorderBuffer? buffer = null;
        buffer = NewBuffer((conversationId, _) =>
        {
            lock (fills)
            {
                fills.Add((conversationId, clock.GetUtcNow()));
            }

            // What a sync from the buffer's cursor would return: everything after seq 1, including the held-back 4.
            foreach (var seq in new long[] { 2, 3, 4 })
            {
                buffer!.Offer(Message(seq));
            }

            return Task.CompletedTask;
        }, gapTimeout, time: clock);
        using (buffer)
        {
            var gapOpened = clock.GetUtcNow();
            buffer.Offer(Message(1));
            buffer.Offer(Message(4));
            Assert.Equal([1L], (await NextAsync(1)).Seqs());

            await AdvanceUntilAsync(clock, () => { lock (fills) { return fills.Count > 0; } });

            Assert.Equal([2L, 3L, 4L], (await NextAsync(3)).Seqs());
            var (conversation, at) = Assert.Single(fills);
            Assert.Equal(Conversation, conversation);
            Assert.True(at - gapOpened >= gapTimeout, $"filled {at - gapOpened} after the gap opened, before the gap timeout");
            Assert.False(buffer.HasGap(Conversation));
        }
    }

    [Fact]
    public async Task FailedFillIsRetriedAfterAnotherTimeout()
    {
        var clock = new FakeTimeProvider();
        var gapTimeout = TimeSpan.FromMilliseconds(50);
        var attempts = new List<DateTimeOffset>();
        ReorderBuffer? buffer = null;
        var failures = new List<Exception>();
        buffer = NewBuffer((_, _) =>
        {
            lock (attempts)
            {
                attempts.Add(clock.GetUtcNow());
                if (attempts.Count == 1)
                {
                    throw new InvalidOperationException("broker unreachable");
                }
            }

            buffer!.Offer(Message(1));
            return Task.CompletedTask;
        }, gapTimeout, time: clock);
        buffer.FillFailed += ex =>
        {
            lock (failures)
            {
                failures.Add(ex);
            }
        };
        using (buffer)
        {
            buffer.Offer(Message(2));

            await AdvanceUntilAsync(clock, () => _released.Reader.Count >= 2);

            Assert.Equal([1L, 2L], (await NextAsync(2)).Seqs());
            lock (attempts)
            {
                Assert.Equal(2, attempts.Count);
                Assert.True(attempts[1] - attempts[0] >= gapTimeout, $"retried {attempts[1] - attempts[0]} after the failure, before another timeout");
            }

            Assert.Single(failures);
        }
    }

    [Fact]
    public async Task GapClosedBeforeTheTimeoutNeverSyncs()
    {
        // The clock stands still while the gap opens and closes, so it closes before the timeout on any machine.
        var clock = new FakeTimeProvider();
        var fills = new List<string>();
        ReorderBuffer? buffer = null;
        buffer = NewBuffer((conversationId, _) =>
        {
            lock (fills)
            {
                fills.Add(conversationId);
            }

            buffer!.Offer(Message(1, "c2c:a:c"));
            return Task.CompletedTask;
        }, TimeSpan.FromMilliseconds(100), time: clock);
        using (buffer)
        {
            buffer.Offer(Message(2));
            buffer.Offer(Message(1));
            Assert.Equal([1L, 2L], (await NextAsync(2)).Seqs());

            // A later, real gap in another conversation proves the timer machinery runs, well past the closed gap's timeout.
            buffer.Offer(Message(2, "c2c:a:c"));
            await AdvanceUntilAsync(clock, () => { lock (fills) { return fills.Count > 0; } });

            Assert.Equal([1L, 2L], (await NextAsync(2)).Seqs());
            lock (fills)
            {
                Assert.Equal(["c2c:a:c"], fills);
            }
        }
    }

    [Fact]
    public async Task SyncAnswerStartingAfterTheCursorMovesTheCursorOverSeqsBeforeTheJoin()
    {
        using var buffer = NewBuffer(FailOnFill, Never);
        var page = new ConversationSync { ConversationId = "group:g1", MaxSeq = 9 };
        page.Messages.Add([Message(7, "group:g1"), Message(8, "group:g1")]);

        buffer.OfferSynced(page, requestedCursor: 0);

        Assert.Equal([7L, 8L], (await NextAsync(2)).Seqs());
        buffer.Offer(Message(9, "group:g1"));
        Assert.Equal([9L], (await NextAsync(1)).Seqs());
        Assert.False(buffer.HasGap("group:g1"));
    }

    [Fact]
    public async Task EmptySyncAnswerBelowMaxSeqMeansNothingBeforeItIsReadable()
    {
        using var buffer = NewBuffer(FailOnFill, Never);
        buffer.OfferSynced(new ConversationSync { ConversationId = "group:g2", MaxSeq = 6 }, requestedCursor: 0);
        Assert.Equal(6, buffer.Cursor("group:g2"));

        // A page cut short by the limit (has_more) says nothing about the seqs it did not send.
        buffer.OfferSynced(new ConversationSync { ConversationId = "group:g3", MaxSeq = 6, HasMore = true }, requestedCursor: 0);
        Assert.Equal(0, buffer.Cursor("group:g3") ?? 0);

        buffer.Offer(Message(7, "group:g2"));
        Assert.Equal([7L], (await NextAsync(1)).Seqs());
    }

    [Fact]
    public async Task UnknownGroupConversationIsFilledAtOnceInsteadOfAfterTheGapTimeout()
    {
        ReorderBuffer? buffer = null;
        var filled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        buffer = NewBuffer((conversationId, _) =>
        {
            var page = new ConversationSync { ConversationId = conversationId, MaxSeq = 7 };
            page.Messages.Add(Message(7, conversationId));
            buffer!.OfferSynced(page, requestedCursor: 0);
            filled.TrySetResult(conversationId);
            return Task.CompletedTask;
        }, Never);
        using (buffer)
        {
            buffer.Offer(Message(7, "group:late"));

            Assert.Equal("group:late", await filled.Task.WaitAsync(TimeSpan.FromSeconds(5)));
            var joined = Assert.Single(await NextAsync(1));
            Assert.Equal(("group:late", 7L), (joined.ConversationId, joined.Seq));
        }
    }

    [Fact]
    public async Task HeldMessagesOfAConversationNoLongerListedAreReleased()
    {
        using var buffer = NewBuffer((_, _) => Task.CompletedTask, Never, new Dictionary<string, long> { ["group:left"] = 3 });
        buffer.Offer(Message(6, "group:left"));
        buffer.Offer(Message(9, "group:left"));

        buffer.ReleaseHeld("group:left");

        Assert.Equal([6L, 9L], (await NextAsync(2)).Seqs());
        Assert.False(buffer.HasGap("group:left"));
    }

    [Fact]
    public async Task SyncAnswer_SkippedSeqsAreStepped_OtherHolesAreWaitedFor()
    {
        using var buffer = NewBuffer((_, _) => Task.CompletedTask, Never);
        // Cluster: 2 is gone for good (its node died before storing it); 4 is still being committed on another node.
        var page = new ConversationSync { ConversationId = Conversation, MaxSeq = 5, StartAfter = 0 };
        page.Messages.Add([Message(1), Message(3), Message(5)]);
        page.SkippedSeqs.Add(2);

        buffer.OfferSynced(page, requestedCursor: 0);

        Assert.Equal([1L, 3L], (await NextAsync(2)).Seqs());
        Assert.True(buffer.HasGap(Conversation), "5 must wait for 4, which was not reported skipped");

        buffer.Offer(Message(4));
        Assert.Equal([4L, 5L], (await NextAsync(2)).Seqs());
        Assert.Equal(5, buffer.Cursor(Conversation));
    }

    [Fact]
    public async Task SyncAnswer_StartAfterMovesTheCursor_AHoleAtTheFrontIsNotSkippedByItself()
    {
        using var buffer = NewBuffer((_, _) => Task.CompletedTask, Never);
        var page = new ConversationSync { ConversationId = "group:g9", MaxSeq = 12, StartAfter = 9 };
        page.Messages.Add(Message(12, "group:g9"));

        buffer.OfferSynced(page, requestedCursor: 0);

        Assert.Equal(9, buffer.Cursor("group:g9"));
        Assert.True(buffer.HasGap("group:g9"));

        var later = new ConversationSync { ConversationId = "group:g9", MaxSeq = 12, StartAfter = 9 };
        later.Messages.Add(Message(11, "group:g9"));
        later.SkippedSeqs.Add(10);
        buffer.OfferSynced(later, requestedCursor: 9);

        Assert.Equal([11L, 12L], (await NextAsync(2)).Seqs());
        Assert.False(buffer.HasGap("group:g9"));
    }

    private static ChatMessage Message(long seq, string conversationId = Conversation) =>
        new() { ConversationId = conversationId, Seq = seq, Text = $"m{seq}" };

    private static Task FailOnFill(string conversationId, CancellationToken cancellationToken) =>
        throw new Xunit.Sdk.XunitException($"no sync expected, but {conversationId} was filled");

    private ReorderBuffer NewBuffer(
        Func<string, CancellationToken, Task> fill, TimeSpan gapTimeout, IReadOnlyDictionary<string, long>? cursors = null, TimeProvider? time = null) =>
        new(m => _released.Writer.TryWrite(m), fill, gapTimeout, cursors, time);

    /// <summary>
    /// Moves the fake clock on in small steps until <paramref name="done"/> (the buffer's timers run on it); the real
    /// wait between steps only lets the buffer's tasks run, and the loop is bounded in steps and time.
    /// </summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Func<bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        for (var step = 0; !done(); step++)
        {
            Assert.True(step < 10_000 && DateTime.UtcNow < deadline, "the buffer never filled its gap");
            clock.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Yield();
            SpinWait.SpinUntil(done, TimeSpan.FromMilliseconds(5));
        }
    }

    private async Task<List<ChatMessage>> NextAsync(int count)
    {
        var messages = new List<ChatMessage>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (messages.Count < count)
        {
            messages.Add(await _released.Reader.ReadAsync(deadline.Token));
        }

        return messages;
    }
}
