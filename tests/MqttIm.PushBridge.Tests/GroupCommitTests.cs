using MqttIm.PushBridge.Storage;

namespace MqttIm.PushBridge.Tests;

/// <summary>The push stores' group commit: writes that arrive during a commit share the next one, in order; a bad write fails alone.</summary>
public sealed class GroupCommitTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task WritesArrivingDuringACommit_GoTogetherInTheNextOne_InOrder()
    {
        var batches = new List<int[]>();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit<int, int>(async writes =>
        {
            lock (batches)
            {
                batches.Add([.. writes]);
            }

            if (writes[0] == 0)
            {
                firstStarted.TrySetResult();
                await releaseFirst.Task;
            }

            return writes.Select(w => w * 10).ToList();
        }, maxBatch: 100);

        var first = commit.SubmitAsync(0);
        await firstStarted.Task.WaitAsync(Wait);
        var rest = Enumerable.Range(1, 5).Select(commit.SubmitAsync).ToList(); // queued while the first commit runs
        Assert.False(first.IsCompleted);
        releaseFirst.SetResult();

        Assert.Equal(0, await first.WaitAsync(Wait));
        var results = await Task.WhenAll(rest).WaitAsync(Wait);
        Assert.Equal([10, 20, 30, 40, 50], results);
        Assert.Equal(new[] { new[] { 0 }, new[] { 1, 2, 3, 4, 5 } }, batches);
    }

    [Fact]
    public async Task AFailingBatch_IsRetriedWriteByWrite_OnlyTheBadWriteFails()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit<int, int>(async writes =>
        {
            if (writes[0] == 0)
            {
                started.TrySetResult();
                await gate.Task;
            }

            return writes.Contains(13) ? throw new InvalidOperationException("bad row 13") : writes.ToList();
        }, maxBatch: 100);

        var holder = commit.SubmitAsync(0);
        await started.Task.WaitAsync(Wait);
        var good = commit.SubmitAsync(12);
        var bad = commit.SubmitAsync(13);
        var alsoGood = commit.SubmitAsync(14);
        gate.SetResult();

        Assert.Equal((0, 12, 14), (await holder.WaitAsync(Wait), await good.WaitAsync(Wait), await alsoGood.WaitAsync(Wait)));
        Assert.Equal("bad row 13", (await Assert.ThrowsAsync<InvalidOperationException>(() => bad.WaitAsync(Wait))).Message);
    }
}
