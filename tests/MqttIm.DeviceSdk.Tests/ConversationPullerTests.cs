using MqttIm.DeviceSdk.Sync;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Hint-driven pulls are coalesced: a burst of hints during a pull causes one more pull, not one per hint.</summary>
public sealed class ConversationPullerTests
{
    [Fact]
    public async Task HintsDuringARunningPullCauseExactlyOneMorePull()
    {
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pulls = 0;
        var puller = new ConversationPuller(async (_, _) =>
        {
            var n = Interlocked.Increment(ref pulls);
            if (n == 1)
            {
                firstStarted.TrySetResult();
                await releaseFirst.Task;
            }
            else
            {
                secondDone.TrySetResult();
            }
        }, ex => throw ex, CancellationToken.None);

        puller.Request("group:g");
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 50; i++)
        {
            puller.Request("group:g");
        }

        releaseFirst.TrySetResult();
        await secondDone.Task.WaitAsync(TimeSpan.FromSeconds(5));

        // No third pull follows: once the puller is idle for the conversation, no pull runs or is due.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (puller.IsPulling("group:g"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the puller never finished its pulls");
            await Task.Yield();
            SpinWait.SpinUntil(() => !puller.IsPulling("group:g"), TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(2, Volatile.Read(ref pulls));
    }

    [Fact]
    public async Task FailedPullIsReportedAndTheNextRequestPullsAgain()
    {
        var errors = new List<Exception>();
        var attempts = 0;
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var puller = new ConversationPuller((_, _) =>
        {
            if (Interlocked.Increment(ref attempts) == 1)
            {
                throw new TimeoutException("no answer");
            }

            second.TrySetResult();
            return Task.CompletedTask;
        }, ex =>
        {
            lock (errors)
            {
                errors.Add(ex);
            }

            reported.TrySetResult();
        }, CancellationToken.None);

        puller.Request("group:g");
        await reported.Task.WaitAsync(TimeSpan.FromSeconds(5));
        puller.Request("group:g");
        await second.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<TimeoutException>(Assert.Single(errors));
    }
}
