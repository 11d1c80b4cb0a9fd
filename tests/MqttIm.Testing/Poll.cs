using System.Diagnostics;

namespace MqttIm.Testing;

/// <summary>
/// Waits for a state the broker reaches on its own time (a session expiring, a will sent, a node seen) when there is no
/// event to await: checks the condition until it holds, and fails once the deadline passes. The short pause between
/// checks only bounds how late the test notices; it never decides the outcome.
/// </summary>
public static class Poll
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var waited = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (waited.Elapsed > limit)
            {
                throw new TimeoutException($"not within {limit.TotalSeconds:0.#} s: {what}");
            }

            await Task.Delay(Interval).ConfigureAwait(false);
        }
    }
}
